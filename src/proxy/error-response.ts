import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { GatewayError, REASONS, type Reason } from '../errors.js';
import type { ErrorDialect } from '../providers/types.js';

/** The `error.type` Anthropic uses for each status it answers with. */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

/** Reasons that are Spendgate's own policy decisions, which an SDK must not retry blindly. */
const POLICY_REASONS = new Set<Reason>(
  (Object.keys(REASONS) as Reason[]).filter((r) => REASONS[r] === 429),
);

/** An error body in the dialect of the API that was called. */
export function errorBody(
  dialect: ErrorDialect,
  status: number,
  reason: Reason,
  message: string,
): string {
  if (dialect === 'anthropic') {
    return JSON.stringify({
      type: 'error',
      error: { type: ANTHROPIC_TYPES[status] ?? 'api_error', message },
    });
  }
  return JSON.stringify({ error: { message, type: reason, code: reason } });
}

/** A Spendgate error answer: its status, headers and body in the dialect of the API called. */
export type ErrorAnswer = { status: number; headers: OutgoingHttpHeaders; body: string };

/** The error answer for `err`: dialect body, reason and retry headers, the policy's headers. */
export function errorAnswer(
  dialect: ErrorDialect,
  err: GatewayError,
  extraHeaders: OutgoingHttpHeaders = {},
): ErrorAnswer {
  const body = errorBody(dialect, err.httpStatus, err.code, err.message);
  const headers: OutgoingHttpHeaders = {
    ...extraHeaders,
    ...err.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-spendgate-reason': err.code,
  };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  if (POLICY_REASONS.has(err.code)) headers['x-should-retry'] = 'false';
  return { status: err.httpStatus, headers, body };
}

/** Writes a Spendgate error response: status, dialect body, reason and retry headers. */
export function sendError(
  res: ServerResponse,
  dialect: ErrorDialect,
  err: GatewayError,
  extraHeaders: OutgoingHttpHeaders = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answer = errorAnswer(dialect, err, extraHeaders);
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

/** The SSE event that tells a streaming client the stream failed after it had started. */
export function streamErrorEvent(dialect: ErrorDialect, reason: Reason, message: string): Buffer {
  if (dialect === 'anthropic') {
    const data = JSON.stringify({ type: 'error', error: { type: 'api_error', message } });
    return Buffer.from(`event: error\ndata: ${data}\n\n`);
  }
  const data = JSON.stringify({ error: { message, type: reason, code: reason } });
  return Buffer.from(`data: ${data}\n\n`);
}
