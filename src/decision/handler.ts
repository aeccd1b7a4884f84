/**
 * `POST /v1/decision`: the proxy's admission without the forwarding. The same identity,
 * attribution, prompt counting, pricing, guards, budgets and rate limits run on the request a
 * front proxy (nginx, Envoy, Traefik, Kong) is about to send, so the answer carries the headers
 * the proxy would have added. An allowed decision keeps its reservation until its usage is
 * reported (`POST /v1/usage`) or times out; a refused one is a ledger row at once.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import { queryOf } from '../identity/index.js';
import type { Resolution } from '../pricing/index.js';
import type { Operation } from '../providers/types.js';
import { admit, admitUnmetered, settleAdmitted, type Admitted } from '../proxy/admission.js';
import { beginRequest } from '../proxy/begin.js';
import type { ProxyDeps } from '../proxy/deps.js';
import { readBody } from '../proxy/read-body.js';
import { CLIENT_CLOSED_STATUS, type RequestAbort } from '../proxy/request-abort.js';
import type { RequestRecord } from '../proxy/request-record.js';
import { modelOf, parseBody, priceModel, type Body } from '../proxy/request-body.js';
import { matchRoute, type ProxyRoute } from '../proxy/route.js';
import { unknownUpstreamError } from '../proxy/unknown-upstream.js';
import { countPromptTokens, maxOutputTokens } from '../tokens/index.js';
import { sendAllowed, sendRefusal } from './answer.js';
import { hasBody, hintsOf, originalRequest, rejectStatusOf } from './original.js';

/** Answers one decision call; every call that names a known upstream gets exactly one row. */
export async function handleDecision(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let rejectAs: number | null = null;
  let route: ProxyRoute;
  let dialect: 'openai' | 'anthropic' = 'openai';
  try {
    rejectAs = rejectStatusOf(req.headers);
    const original = originalRequest(req);
    if (original.uri.includes('/messages')) dialect = 'anthropic';
    route = routeOf(deps, original.uri, original.method);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    // Like the proxy's answer to a path it cannot route: an id, but no row (no upstream).
    req.resume();
    res.setHeader('x-spendgate-request-id', randomUUID());
    return sendRefusal(res, dialect, err, rejectAs);
  }
  return decide(deps, req, res, route, rejectAs);
}

function routeOf(deps: ProxyDeps, uri: string, method: string): ProxyRoute {
  const route = matchRoute(uri, method, deps.config.upstreams);
  if ('invalid' in route) {
    throw new GatewayError(
      'invalid_request',
      'X-Original-URI has empty or dot segments or encoded slashes; send a normalised path',
    );
  }
  if ('unknown' in route) throw unknownUpstreamError(route.unknown, deps.config.upstreams.keys());
  return route;
}

async function decide(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: ProxyRoute,
  rejectAs: number | null,
): Promise<void> {
  const { record, abort, headers: ours } = beginRequest(deps, res, route);
  const requestId = record.row.requestId;
  record.flag('sidecar');

  let countedInput = 0;
  let admitted: Admitted | null = null;
  let waiting = false;
  try {
    // The gateway forwards nothing here, so an upstream's unset key variable does not matter.
    const identity = await deps.identity.resolve({
      headers: req.headers,
      query: queryOf(route.search),
      path: route.path,
    });
    record.setIdentity(identity);

    if (route.op === null) {
      admitted = await admitUnmeteredDecision(deps, req, route, record, abort);
      deps.decisions.finish(requestId, 'unmetered');
      sendAllowed(res, { ...ours, ...admitted.headers });
      return;
    }

    const asked = await estimate(deps, req, route, route.op, record);
    countedInput = asked.input;
    admitted = await admit(
      deps,
      record,
      asked.resolution,
      { input: asked.input, maxOutput: asked.maxOutput },
      { path: route.path, body: asked.loopBody },
      abort,
    );
    if (abort.aborted) {
      // Left while throttled: not a refusal, and nothing will be forwarded, so nothing is held.
      record.flag('client_disconnected');
      record.row.status = CLIENT_CLOSED_STATUS;
      record.settleNothing(countedInput);
      deps.decisions.finish(requestId, 'disconnected');
      return;
    }
    deps.decisions.hold(requestId, {
      deps,
      record,
      hold: admitted.hold,
      op: route.op,
      countedInput,
      rates: asked.resolution.rates,
    });
    waiting = true;
    sendAllowed(res, { ...ours, ...admitted.headers });
  } catch (err) {
    if (!(err instanceof GatewayError)) {
      // A bug: the row says the gateway failed, and the server's handler answers 500.
      record.row.decision = 'error';
      record.row.status = 500;
      deps.decisions.finish(requestId, 'rejected');
      // The server answers 500; the id still names the row that records it.
      if (!res.headersSent) res.setHeader('x-spendgate-request-id', requestId);
      throw err;
    }
    if (abort.aborted) record.flag('client_disconnected');
    record.fail('reject', err.code, err.httpStatus);
    record.settleNothing(countedInput);
    deps.decisions.finish(requestId, 'rejected');
    if (!abort.aborted) sendRefusal(res, route.upstream.dialect, err, rejectAs, ours);
  } finally {
    if (!waiting) {
      record.commit(deps.ledger, deps.clock.now(), deps.metrics);
      if (admitted && route.op === null) {
        // Nothing is charged for an unmetered call; settling counts it against request limits.
        admitted.hold.settle(0n, 0).catch(() => undefined);
      } else if (admitted) {
        settleAdmitted(deps, admitted, record);
      }
    }
  }
}

/**
 * An endpoint the gateway does not meter (files, batches, GETs): kill switches and request
 * limits apply, nothing is reserved, and the row is written at once with a null cost.
 */
async function admitUnmeteredDecision(
  deps: ProxyDeps,
  req: IncomingMessage,
  route: ProxyRoute,
  record: RequestRecord,
  abort: RequestAbort,
): Promise<Admitted> {
  req.resume();
  record.flag('unmetered');
  if (route.upstream.unmetered === 'reject') {
    throw new GatewayError(
      'invalid_request',
      `${route.path} is not metered by Spendgate, and upstream "${route.upstream.name}" refuses unmetered endpoints`,
    );
  }
  const admitted = await admitUnmetered(deps, record, route.path, abort);
  record.row.costPico = null;
  return admitted;
}

/** What a metered decision reserves, from the forwarded body as the proxy reads it, or hints. */
type Estimate = {
  resolution: Resolution;
  input: number;
  maxOutput: number;
  /** What the loop detector fingerprints. */
  loopBody: unknown;
};

async function estimate(
  deps: ProxyDeps,
  req: IncomingMessage,
  route: ProxyRoute,
  op: Operation,
  record: RequestRecord,
): Promise<Estimate> {
  if (hasBody(req.headers)) {
    const body: Body = parseBody(await readBody(req, deps.config.listen.maxBodyBytes));
    const model = modelOf(route, body.model);
    const resolution = priceModel(deps, record, route, model);
    record.row.streamed = body.stream === true && op !== 'embeddings';
    return {
      resolution,
      input: countPromptTokens(op, body, model).tokens,
      maxOutput: maxOutputTokens(op, body) ?? resolution.defaultMaxOutputTokens,
      loopBody: body,
    };
  }

  const hints = hintsOf(req.headers);
  const model = modelOf(
    route,
    hints.model,
    'a decision without the request body needs x-spendgate-model (or forward the body)',
  );
  const resolution = priceModel(deps, record, route, model);
  return {
    resolution,
    input: hints.inputTokens,
    maxOutput: hints.maxOutputTokens ?? resolution.defaultMaxOutputTokens,
    // Without the body, requests cannot be told apart: each is its own unless the caller
    // sends a fingerprint of the body, so no loop is claimed that was never seen.
    loopBody: { fingerprint: hints.fingerprint ?? record.row.requestId },
  };
}
