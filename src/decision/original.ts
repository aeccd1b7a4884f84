/**
 * What a decision call says about the request it asks for: the original path and method (from
 * the headers each front proxy sends, or the path after `/v1/decision`), the estimate hints used
 * when the body is not forwarded, and how a refusal must be answered.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/** The decision endpoint; `/v1/decision/<upstream>/...` carries the original path itself. */
export const DECISION_PATH = '/v1/decision';

/** Whether a request URL is a decision call: `/v1/decision`, with a query or a path after it. */
export function isDecisionCall(url: string): boolean {
  if (!url.startsWith(DECISION_PATH)) return false;
  const next = url.charCodeAt(DECISION_PATH.length);
  // '/' or '?' or the end of the URL
  return Number.isNaN(next) || next === 0x2f || next === 0x3f;
}

/** The original request a decision is for. */
export type OriginalRequest = { uri: string; method: string };

/** Estimate hints for a decision whose body was not forwarded. */
export type Hints = {
  model: string | undefined;
  /** Prompt tokens; 0 when not given. */
  inputTokens: number;
  /** The largest completion the request may produce; undefined for the model's default. */
  maxOutputTokens: number | undefined;
  /** A digest of the body, for loop detection; undefined when the caller sends none. */
  fingerprint: string | undefined;
};

/** Statuses nginx's `auth_request` passes on; every other one turns into a 500 there. */
const AUTH_REQUEST_STATUSES = new Set([401, 403]);

/**
 * The original path and method. nginx and Kong send `X-Original-URI`/`X-Original-Method`,
 * Traefik `X-Forwarded-Uri`/`X-Forwarded-Method`; Envoy's HTTP ext_authz keeps the original
 * method and appends the original path to its `path_prefix` (`/v1/decision`). Without a method
 * header a decision is for a POST, the method of every metered call.
 */
export function originalRequest(req: IncomingMessage): OriginalRequest {
  const url = req.url ?? DECISION_PATH;
  const headers = req.headers;
  if (url.startsWith(`${DECISION_PATH}/`)) {
    const method = one(headers['x-original-method']) ?? req.method ?? 'POST';
    return { uri: url.slice(DECISION_PATH.length), method: method.toUpperCase() };
  }
  const uri = one(headers['x-original-uri']) ?? one(headers['x-forwarded-uri']);
  if (uri === undefined || uri === '') {
    throw new GatewayError(
      'invalid_request',
      'a decision needs X-Original-URI: the path the client calls on the proxy, /<upstream>/...',
    );
  }
  if (!uri.startsWith('/')) {
    throw new GatewayError(
      'invalid_request',
      'X-Original-URI must be a path starting with /<upstream>/, not a full URL',
    );
  }
  const method = one(headers['x-original-method']) ?? one(headers['x-forwarded-method']) ?? 'POST';
  return { uri, method: method.toUpperCase() };
}

/**
 * The `x-spendgate-model`, `x-spendgate-estimate-tokens`, `x-spendgate-max-output-tokens` and
 * `x-spendgate-fingerprint` hints.
 */
export function hintsOf(headers: IncomingHttpHeaders): Hints {
  return {
    model: one(headers['x-spendgate-model']),
    inputTokens: countHeader(headers, 'x-spendgate-estimate-tokens') ?? 0,
    // 0 is no limit, as `max_tokens: 0` in a body is: the default is reserved.
    maxOutputTokens: countHeader(headers, 'x-spendgate-max-output-tokens') || undefined,
    fingerprint: one(headers['x-spendgate-fingerprint']),
  };
}

/**
 * `x-spendgate-reject-status: 403` (or 401) asks for every refusal with that status instead of
 * its own, the real one in `x-spendgate-status` and the error body in `x-spendgate-error-body`,
 * for front proxies that only understand 2xx, 401 and 403 (nginx `auth_request`). Null when
 * the header is absent.
 */
export function rejectStatusOf(headers: IncomingHttpHeaders): number | null {
  const text = one(headers['x-spendgate-reject-status']);
  if (text === undefined) return null;
  const status = Number(text);
  if (!AUTH_REQUEST_STATUSES.has(status)) {
    throw new GatewayError('invalid_request', 'x-spendgate-reject-status must be 401 or 403');
  }
  return status;
}

/** Whether the decision call carries a body (the original request's, forwarded). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

function countHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const text = one(headers[name]);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0) {
    throw new GatewayError('invalid_request', `${name} must be a whole number of tokens`);
  }
  return value;
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
