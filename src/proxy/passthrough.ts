import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { GatewayError } from '../errors.js';
import type { ProxyDeps } from './deps.js';
import { sendError } from './error-response.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { attribute, beginRequest } from './begin.js';
import { admitUnmetered, type Admitted } from './admission.js';
import { relayBody } from './stream-relay.js';
import { CLIENT_CLOSED_STATUS } from './request-abort.js';
import type { ProxyRoute } from './route.js';
import { toGatewayError } from './upstream-errors.js';

/**
 * Endpoints Spendgate does not meter (files, batches, images, audio, GETs): streamed through in
 * both directions without buffering, attributed, and recorded with cost null and the flag
 * `unmetered` — unless the upstream says `unmetered: reject`.
 */
export async function handleUnmetered(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: ProxyRoute,
): Promise<void> {
  const { record, abort, headers: ours } = beginRequest(deps, res, route);
  record.flag('unmetered');
  let admitted: Admitted | null = null;

  try {
    const identity = await attribute(deps, req, route, record);
    if (route.upstream.unmetered === 'reject') {
      throw new GatewayError(
        'invalid_request',
        `${req.method} ${route.path} is not metered by Spendgate, and upstream "${route.upstream.name}" refuses unmetered endpoints`,
      );
    }
    const limit = deps.config.listen.maxBodyBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      throw new GatewayError(
        'request_too_large',
        `request body is larger than the gateway's limit (listen.max_body_mb)`,
      );
    }

    admitted = await admitUnmetered(deps, record, route.path, abort);
    Object.assign(ours, admitted.headers);
    if (abort.aborted) {
      // Left while throttled, before anything was forwarded: not a refusal, nothing charged,
      // and its request is given back to the request limits (released, not settled below), as
      // on metered endpoints.
      record.flag('client_disconnected');
      record.row.status = CLIENT_CLOSED_STATUS;
      admitted.hold.release().catch(() => undefined);
      admitted = null;
      return;
    }

    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const upstreamRes = await deps.pools.call(route.upstream, {
      path: route.path + route.search,
      method: req.method ?? 'GET',
      headers: upstreamRequestHeaders(req.headers, route.upstream, {
        credentialHeaders: identity.credentialHeaders,
        readsBodies: false,
        bodyLength: Number.isFinite(declared) ? declared : null,
      }),
      body: hasBody ? req.pipe(byteLimit(limit)) : null,
      signal: abort,
    }).started;

    record.row.status = upstreamRes.statusCode;
    res.writeHead(
      upstreamRes.statusCode,
      clientResponseHeaders(upstreamRes.headers, { dropLength: false, ours }),
    );
    await relayBody(upstreamRes, res);
    res.end();
    record.row.costPico = null;
  } catch (err) {
    const failure = toGatewayError(err, route.upstream);
    if (abort.aborted) record.flag('client_disconnected');
    record.fail(
      failure.code === 'upstream_unavailable' ? 'error' : 'reject',
      failure.code,
      failure.httpStatus,
    );
    record.row.costPico = 0n;
    // A body refused before its end (past the limit) is not read further: the connection closes
    // after the answer, since the rest of that body would stand where the next request starts.
    if (!req.complete) ours['connection'] = 'close';
    if (!abort.aborted) sendError(res, route.upstream.dialect, failure, ours);
  } finally {
    record.commit(deps.ledger, deps.clock.now(), deps.metrics);
    // Nothing is charged for an unmetered call; settling counts it against request limits.
    admitted?.hold.settle(0n, 0).catch(() => undefined);
  }
}

/** Fails a streamed body that grows past the limit, for clients that send no content-length. */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit)
        done(
          new GatewayError('request_too_large', 'request body is larger than the gateway limit'),
        );
      else done(null, chunk);
    },
  });
}
