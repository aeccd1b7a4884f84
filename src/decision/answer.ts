/**
 * How a decision is answered: 200 with the policy headers the proxy would add, or the proxy's
 * own refusal (status, headers, body in the called API's format), optionally folded into the
 * one status a front proxy's auth hook understands.
 */
import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.js';
import type { ErrorDialect } from '../providers/types.js';
import { errorAnswer } from '../proxy/error-response.js';

/** An allowed decision: no body; the budget warning and RateLimit headers, as the proxy sends. */
export function sendAllowed(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name] as string);
  res.setHeader('content-length', 0);
  res.writeHead(200);
  res.end();
}

/**
 * A refused decision, exactly as the proxy would refuse the request. With `rejectAs` (401 or
 * 403), the status becomes that one and the real status and body travel in headers, so nginx
 * can rebuild the refusal from `auth_request_set` variables.
 */
export function sendRefusal(
  res: ServerResponse,
  dialect: ErrorDialect,
  err: GatewayError,
  rejectAs: number | null,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answer = errorAnswer(dialect, err, extraHeaders);
  if (rejectAs !== null) {
    answer.headers['x-spendgate-status'] = String(answer.status);
    answer.headers['x-spendgate-error-body'] = asciiJson(answer.body);
  }
  res.writeHead(rejectAs ?? answer.status, answer.headers);
  res.end(answer.body);
}

/**
 * JSON text with every character outside printable ASCII written as `\uXXXX`: still the same
 * JSON value, and a valid header value (Node refuses characters above U+00FF in headers, and
 * nginx passes bytes it does not interpret).
 */
export function asciiJson(text: string): string {
  return text.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
