import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminToken } from '../config/prepare.js';
import { GatewayError } from '../errors.js';
import type { ProxyDeps } from '../proxy/deps.js';

/** What an admin route handler gets: the gateway, the call, and who made it. */
export type AdminCall = {
  deps: ProxyDeps;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  token: AdminToken;
  /** Path parameters, e.g. the id of `DELETE /kill-switches/<id>`. */
  params: string[];
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  const body = JSON.stringify({ error: { message, type: code, code } });
  sendJson(res, status, body, { 'x-spendgate-reason': code });
}

/** Reads a small JSON object body of an admin call; null when it is not one. */
export async function readJsonObject(
  req: IncomingMessage,
  limit = 64 * 1024,
): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Read to the end even past the limit, so the keep-alive connection stays usable.
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) {
    throw new GatewayError(
      'request_too_large',
      `admin request bodies are limited to ${limit} bytes`,
    );
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Whether a set of scope values lies inside an admin token's scope. */
export function withinScope(values: Record<string, string>, token: AdminToken): boolean {
  for (const [dimension, value] of Object.entries(token.scope ?? {})) {
    if (values[dimension] !== value) return false;
  }
  return true;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** An ISO 8601 `from`/`to` parameter: undefined when absent, NaN when malformed. */
export function parseIsoTime(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!ISO_TIME.test(text)) return Number.NaN;
  // A time without a zone is UTC, as the API's times are; JS would read it as local time.
  const zoned = text.length > 10 && !/(Z|[+-]\d{2}:\d{2})$/.test(text) ? `${text}Z` : text;
  const ms = Date.parse(zoned);
  // Month 13 or hour 25 parse to nothing at all.
  if (Number.isNaN(ms)) return Number.NaN;
  // Date.parse rolls 2026-02-30 over to March; an impossible date is an error instead.
  return new Date(ms).toISOString().slice(0, 10) === zoned.slice(0, 10) ||
    /[+-]\d{2}:\d{2}$/.test(zoned)
    ? ms
    : Number.NaN;
}
