import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import { picoToDecimal } from '../money/money.js';
import { completionText } from '../providers/completion-text.js';
import { createAnthropicStreamMeter } from '../providers/anthropic/stream-meter.js';
import { createOpenAiStreamMeter } from '../providers/openai/stream-meter.js';
import { DeferredMeter } from '../providers/deferred-meter.js';
import { isRecord as isObject, type StreamMeter } from '../providers/usage.js';
import { tokenUsage, type ErrorDialect, type Operation, type Usage } from '../providers/types.js';
import {
  countPromptTokens,
  countTextTokens,
  maxOutputTokens,
  rawTextTokens,
  scaleTokenCount,
} from '../tokens/index.js';
import { computeCost, type ModelRates } from '../pricing/index.js';
import type { ProxyDeps } from './deps.js';
import { sendError, streamErrorEvent } from './error-response.js';
import { clientResponseHeaders, headerValue, upstreamRequestHeaders } from './headers.js';
import { decodeBody, readBody } from './read-body.js';
import { CLIENT_CLOSED_STATUS, type RequestAbort } from './request-abort.js';
import type { RequestRecord } from './request-record.js';
import { attribute, beginRequest } from './begin.js';
import type { ProxyRoute } from './route.js';
import { relaySse, type RelayEnd, type StreamCut, type StreamStop } from './stream-relay.js';
import type { UpstreamCall } from './upstream-call.js';
import { admit, settleAdmitted, type Admitted } from './admission.js';
import {
  describeUpstreamError,
  isInternalFault,
  retryAfterFor429,
  toGatewayError,
} from './upstream-errors.js';
import { modelOf, parseBody, priceModel, usageOf, type Body } from './request-body.js';

/** Thrown when the client left before the request was forwarded (during a throttle delay). */
const CLIENT_GONE = new Error('the client went away');

/** One request's state on its way through: what settles its row and its budget hold. */
type Flow = {
  deps: ProxyDeps;
  res: ServerResponse;
  record: RequestRecord;
  op: Operation;
  model: string;
  rates: ModelRates | null;
  countedInput: number;
  dialect: ErrorDialect;
  admitted: Admitted;
  /** Spendgate's headers for the answer: the request id and the policy's. */
  ours: Record<string, string>;
};

/**
 * One metered request, start to end: read and check the body, attribute it, price it, count
 * the prompt, hold its worst case against the budgets, forward it, relay or buffer the answer,
 * settle the hold with the actual cost, and record exactly one ledger row.
 */
export async function handleMetered(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: ProxyRoute,
  op: Operation,
): Promise<void> {
  const { clock, ledger } = deps;
  const { record, abort, headers: ours } = beginRequest(deps, res, route);

  let countedInput = 0;
  let admitted: Admitted | null = null;
  let call: UpstreamCall | null = null;
  try {
    const identity = await attribute(deps, req, route, record);
    const raw = await readBody(req, deps.config.listen.maxBodyBytes);
    const body = parseBody(raw);

    const model = modelOf(route, body.model);
    const resolution = priceModel(deps, record, route, model);

    countedInput = countPromptTokens(op, body, model).tokens;
    const maxOutput = maxOutputTokens(op, body) ?? resolution.defaultMaxOutputTokens;
    admitted = await admit(
      deps,
      record,
      resolution,
      { input: countedInput, maxOutput },
      { path: route.path, body },
      abort,
    );
    Object.assign(ours, admitted.headers);
    if (abort.aborted) throw CLIENT_GONE;

    const streamed = body.stream === true && op !== 'embeddings';
    record.row.streamed = streamed;
    const { forwardBody, hideUsageChunk } = withStreamUsage(route, op, body, raw, streamed);

    call = deps.pools.call(route.upstream, {
      path: route.path + route.search,
      method: req.method ?? 'POST',
      headers: upstreamRequestHeaders(req.headers, route.upstream, {
        credentialHeaders: identity.credentialHeaders,
        readsBodies: true,
        bodyLength: forwardBody.length,
      }),
      body: forwardBody,
      // A client leaving stops a stream (the provider stops generating, and bills what was
      // sent); a non-streamed answer is read to its end anyway, so its real usage is charged.
      // The end of a graceful stop's grace period stops either.
      signal: streamed ? abort : undefined,
      deadline: deps.shutdown,
    });
    const upstreamRes = await call.started;
    record.row.status = upstreamRes.statusCode;

    const flow: Flow = {
      deps,
      res,
      record,
      op,
      model,
      rates: resolution.rates,
      countedInput,
      dialect: route.upstream.dialect,
      admitted,
      ours,
    };
    const contentType = headerValue(upstreamRes.headers['content-type']) ?? '';
    if (streamed && upstreamRes.statusCode < 300 && contentType.includes('text/event-stream')) {
      await relayStream(flow, upstreamRes, hideUsageChunk, abort);
    } else {
      await relayBuffered(flow, upstreamRes);
    }
  } catch (err) {
    if (err === CLIENT_GONE) {
      // Left while throttled, before anything was forwarded: not a refusal, nothing charged.
      record.flag('client_disconnected');
      record.row.status = CLIENT_CLOSED_STATUS;
      record.settleNothing(countedInput);
      return;
    }
    if (deps.shutdown?.aborted && call?.sent && !res.headersSent) {
      // The gateway's stop ran out of time before the answer was relayed: the provider has the
      // prompt, so it is charged (estimated), and the client, if still there, is told to retry.
      const failure = new GatewayError(
        'upstream_unavailable',
        'Spendgate is shutting down: the request was cut before its answer came; retry it',
        { httpStatus: 503 },
      );
      record.flag('gateway_shutdown');
      record.flag('incomplete');
      record.fail('error', failure.code, failure.httpStatus);
      record.settle(null, { input: countedInput, output: 0 }, 'estimated');
      if (!abort.aborted) sendError(res, route.upstream.dialect, failure, ours);
      return;
    }
    if (abort.aborted && call?.sent && record.row.status === 0) {
      // The client left after its prompt went upstream but before the answer began: the
      // provider has the prompt, so it is charged, estimated, as a stream the client left is.
      record.flag('client_disconnected');
      record.flag('incomplete');
      record.row.status = CLIENT_CLOSED_STATUS;
      record.settle(null, { input: countedInput, output: 0 }, 'estimated');
      return;
    }
    const failure = toGatewayError(err, route.upstream);
    if (abort.aborted) record.flag('client_disconnected');
    record.fail(
      failure.code === 'upstream_unavailable' ? 'error' : 'reject',
      failure.code,
      failure.httpStatus,
    );
    record.settleNothing(countedInput);
    if (!abort.aborted) sendError(res, route.upstream.dialect, failure, ours);
    if (isInternalFault(err)) {
      deps.logger.error(
        {
          event: 'request.internal_error',
          requestId: record.row.requestId,
          upstream: route.upstream.name,
          err: err.stack ?? err.message,
        },
        'request failed inside the gateway',
      );
    } else if (failure.code === 'upstream_unavailable') {
      deps.logger.warn(
        {
          event: 'upstream.failed',
          requestId: record.row.requestId,
          upstream: route.upstream.name,
          status: failure.httpStatus,
          err: failure.message,
          // Where it failed (the address a connection was refused at) is for the operator only.
          ...(failure.cause instanceof Error ? { cause: failure.cause.message } : {}),
        },
        'upstream request failed',
      );
    }
  } finally {
    record.commit(ledger, clock.now(), deps.metrics);
    if (admitted) settleAdmitted(deps, admitted, record);
  }
}

/** A non-streamed answer: buffered so the cost header can go out with it, body unchanged. */
async function relayBuffered(flow: Flow, upstreamRes: UpstreamCall): Promise<void> {
  const { record, op, model, countedInput } = flow;
  const buf = await upstreamRes.bytes();
  const status = upstreamRes.statusCode;
  const headers: OutgoingHttpHeaders = clientResponseHeaders(upstreamRes.headers, {
    dropLength: true,
    ours: flow.ours,
  });
  headers['content-length'] = buf.length;

  let countAnswer: (() => void) | null = null;
  if (status >= 400) {
    // Failed provider calls are not billed; the row keeps the status and the prompt count.
    record.flag('upstream_error');
    record.settleNothing(countedInput);
    if (status === 429) {
      retryAfterFor429(flow.deps, record.row.upstream, upstreamRes.headers, headers);
    }
  } else {
    const parsed = parseAnswer(buf, headerValue(upstreamRes.headers['content-encoding']));
    // A stream asked for and answered in another form is relayed as it came, and a 204 or 205
    // has no body: only other successes must be a JSON object.
    const mustBeJson =
      status >= 200 && status < 300 && status !== 204 && status !== 205 && !record.row.streamed;
    if (parsed === null && mustBeJson) {
      // A success the client's SDK could not read either (an HTML page from a proxy in front of
      // the provider, a cut body): a clear 502 in the API's format, not the bytes.
      record.flag('upstream_error');
      const type = headerValue(upstreamRes.headers['content-type']) ?? 'none';
      throw new GatewayError(
        'upstream_unavailable',
        `upstream "${record.row.upstream}" answered ${status} with a body that is not a JSON object (${buf.length} bytes, content-type ${type})`,
      );
    }
    const usage = parsed ? usageOf(op, parsed.usage) : null;
    if (parsed && (parsed.status === 'incomplete' || parsed.status === 'failed')) {
      record.flag('incomplete');
    }
    // Without the provider's usage the cost rests on the gateway's count of the answer, and the
    // cost header needs it now. With it, the count only sits beside the provider's figure (to
    // measure the estimate), so it is made once the answer is on its way to the client.
    const count = (): number => countTextTokens(model, completionText(op, parsed));
    const cost = record.settle(usage, { input: countedInput, output: usage ? 0 : count() });
    if (cost !== null) headers['x-spendgate-cost-usd'] = picoToDecimal(cost);
    if (usage) {
      countAnswer = () => {
        record.row.countedOutputTokens = count();
      };
    }
  }

  if (flow.res.destroyed) {
    record.flag('client_disconnected');
  } else {
    flow.res.writeHead(status, headers);
    flow.res.end(buf);
  }
  countAnswer?.();
}

/** A streamed answer: headers at once, then block by block, charged for what was delivered. */
async function relayStream(
  flow: Flow,
  upstreamRes: UpstreamCall,
  hideUsageChunk: boolean,
  abort: RequestAbort,
): Promise<void> {
  const { res, record, model, countedInput } = flow;
  const output = new OutputCounter(model);
  const countTokens = (text: string): number => output.add(text);
  const counting: StreamMeter & { startUsage?(): Usage | null } =
    flow.op === 'messages'
      ? createAnthropicStreamMeter({ countTokens })
      : createOpenAiStreamMeter(flow.op as 'chat' | 'completions' | 'responses', {
          hideUsageChunk,
          countTokens,
        });
  // The prompt as the provider reported it at the start (Anthropic's message_start), else ours;
  // read only where a budget may cut the stream, whose meter reads every block at once.
  const usageSoFar = (): Usage => ({
    ...(counting.startUsage?.() ?? tokenUsage(countedInput, 0)),
    outputTokens: output.total(),
    reasoningTokens: 0,
  });
  // A budget that may cut the stream checks its figures after every read; without one, the
  // events are read after they went out.
  const cut = streamCut(flow, usageSoFar);
  const meter = cut ? counting : new DeferredMeter(counting);

  res.writeHead(
    upstreamRes.statusCode,
    clientResponseHeaders(upstreamRes.headers, { dropLength: true, ours: flow.ours }),
  );

  let ended: RelayEnd | 'failed' = 'failed';
  try {
    ended = await relaySse(upstreamRes, res, meter, cut, shutdownStop(flow));
  } catch (err) {
    if (res.destroyed) {
      record.flag('client_disconnected');
    } else {
      // The status line has gone: tell the client in the stream, in its API's error event.
      record.flag('upstream_reset');
      record.row.reason = 'upstream_unavailable';
      record.row.decision = 'error';
      res.write(
        streamErrorEvent(
          flow.dialect,
          'upstream_unavailable',
          `the upstream stream failed: ${describeUpstreamError(err)}`,
        ),
      );
    }
  }
  if (!res.destroyed && !res.writableEnded) res.end();

  const result = meter.result();
  const counted = { input: countedInput, output: output.total() };
  if (ended === 'stopped') {
    // Cut by the gateway's own shutdown: charged for what was delivered, as a budget cut is.
    record.flag('gateway_shutdown');
    record.flag('incomplete');
    record.row.reason = 'upstream_unavailable';
    record.row.decision = 'error';
    record.settle(usageSoFar(), counted, 'estimated');
    return;
  }
  if (ended === 'cut') {
    // Stop the provider generating what nobody will receive; the row holds what was sent.
    abort.abort();
    record.flag('budget_cut');
    record.flag('incomplete');
    record.settle(usageSoFar(), counted, 'estimated');
    return;
  }
  if (ended === 'complete' && result.usage) {
    if (result.status === 'incomplete' || result.status === 'failed') record.flag('incomplete');
    record.settle(result.usage, counted);
    return;
  }

  // The stream did not deliver its final usage: charge what was delivered, as estimated.
  if (ended === 'truncated') record.flag('truncated_stream');
  if (ended !== 'complete' || !result.sawTerminator) record.flag('incomplete');
  record.settle(partialUsage(result.usage, counted), counted, 'estimated');
}

/**
 * The budget cut-off of a stream. Within its reservation a stream cannot overshoot any budget;
 * when its running cost reaches what it reserved, it reserves more, all or nothing, in the
 * budgets that cut streams (so parallel streams share the limit exactly). When they cannot
 * hold even a small step, the stream ends with its format's clean ending and the usage so far.
 */
function streamCut(flow: Flow, usageSoFar: () => Usage): StreamCut | undefined {
  const rates = flow.rates;
  if (flow.admitted.streamLimitPico === null || !rates) return undefined;
  const { hold, reservedPico } = flow.admitted;
  const oneToken = computeCost(tokenUsage(0, 1), rates);
  const floor = oneToken * BigInt(MIN_STEP_TOKENS);
  const step = reservedPico > floor ? reservedPico : floor;
  let reserved = reservedPico;
  // The first read's cost includes the whole prompt: the margin measures reads of output only.
  let lastCost = computeCost(usageSoFar(), rates);
  // The most one read has added so far: the next read is expected to fit in it, so more is
  // reserved (or the stream cut) while that much is still left, not after it has gone.
  let margin = 0n;
  const extend = async (cost: bigint): Promise<boolean> => {
    // The full step first, then smaller ones, so the last of a budget is still usable.
    for (let extra = step + margin; extra >= oneToken && extra > 0n; extra /= 4n) {
      if (await hold.extend(extra)) {
        reserved += extra;
        return cost + margin > reserved ? extend(cost) : false;
      }
    }
    return true;
  };
  return {
    reached: () => {
      const cost = computeCost(usageSoFar(), rates);
      if (cost - lastCost > margin) margin = cost - lastCost;
      lastCost = cost;
      return cost + margin <= reserved ? false : extend(cost);
    },
    ending: (meter) => meter.cutBlocks(usageSoFar()),
  };
}

/**
 * A stream still running when a graceful stop's grace period ends gets its API's error event,
 * so the client's SDK raises an error instead of taking the cut stream for a whole one.
 */
function shutdownStop(flow: Flow): StreamStop | undefined {
  const deadline = flow.deps.shutdown;
  if (!deadline) return undefined;
  return {
    signal: deadline,
    ending: () =>
      streamErrorEvent(
        flow.dialect,
        'upstream_unavailable',
        'Spendgate is shutting down: this stream was cut before its end; retry the request',
      ),
  };
}

/** The smallest extra reservation a stream asks for: about one read's worth of tokens. */
const MIN_STEP_TOKENS = 256;

/**
 * Completion tokens of a stream: delta texts are kept and tokenized only when a figure is
 * needed (a budget check, or the end of a stream without provider usage), which saves the
 * tokenizer's time on the common path where the provider reports usage.
 */
class OutputCounter {
  private pending: string[] = [];
  private raw = 0;

  constructor(private readonly model: string) {}

  add(text: string): number {
    this.pending.push(text);
    return 0;
  }

  total(): number {
    if (this.pending.length > 0) {
      this.raw += rawTextTokens(this.model, this.pending.join(''));
      this.pending = [];
    }
    return scaleTokenCount(this.model, this.raw);
  }
}

/** Adds `stream_options.include_usage` for OpenAI streams whose client did not ask for usage. */
function withStreamUsage(
  route: ProxyRoute,
  op: Operation,
  body: Body,
  raw: Buffer,
  streamed: boolean,
): { forwardBody: Buffer; hideUsageChunk: boolean } {
  if (
    !streamed ||
    (op !== 'chat' && op !== 'completions') ||
    route.upstream.format === 'anthropic'
  ) {
    return { forwardBody: raw, hideUsageChunk: false };
  }
  const options = isObject(body.stream_options) ? body.stream_options : {};
  if (options.include_usage === true) return { forwardBody: raw, hideUsageChunk: false };
  body.stream_options = { ...options, include_usage: true };
  return { forwardBody: Buffer.from(JSON.stringify(body)), hideUsageChunk: true };
}

function partialUsage(reported: Usage | null, counted: { input: number; output: number }): Usage {
  if (!reported) return tokenUsage(counted.input, counted.output);
  return {
    ...reported,
    inputTokens: reported.inputTokens || counted.input,
    outputTokens: Math.max(reported.outputTokens, counted.output),
  };
}

/**
 * The answer as a JSON object, whatever its content type says, decoded first when the upstream
 * compressed it although asked not to; null when it is not one.
 */
function parseAnswer(buf: Buffer, encoding: string | undefined): Body | null {
  try {
    const text = decodeBody(buf, encoding, MAX_DECODED_ANSWER_BYTES).toString('utf8');
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** The most a compressed answer is decoded to for reading; the client gets the bytes as sent. */
const MAX_DECODED_ANSWER_BYTES = 256 * 1024 * 1024;
