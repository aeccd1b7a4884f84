import { ADMIN_ENV } from './budgets.js';
import type { Answer } from './http.js';

/** The headers a decision answer shares with the proxy's answer to the same request. */
export const POLICY_HEADERS = [
  'x-spendgate-budget-warning',
  'ratelimit-policy',
  'ratelimit',
  'x-spendgate-reason',
  'retry-after',
  'x-should-retry',
  'x-spendgate-loop-warning',
] as const;

/** The status, policy headers and (for refusals) body of an answer, to compare two of them. */
export function policyView(answer: Answer): Record<string, unknown> {
  const headers: Record<string, string | null> = {};
  for (const name of POLICY_HEADERS) headers[name] = answer.headers.get(name);
  return { status: answer.status, headers, body: answer.status === 200 ? null : answer.text };
}

/**
 * Asks a gateway's decision service about `POST <uri>`: the body forwarded when one is given
 * (as Envoy does), else only the headers (as nginx does, with hints).
 */
export async function decide(
  baseUrl: string,
  uri: string | null,
  opts: { headers?: Record<string, string>; body?: unknown; method?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    'x-original-method': opts.method ?? 'POST',
    ...(uri === null ? {} : { 'x-original-uri': uri }),
    ...opts.headers,
  };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}/v1/decision`, {
    method: 'POST',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Reports a decision's usage with `POST /v1/usage` (the unscoped admin token by default). */
export async function reportUsage(
  baseUrl: string,
  body: unknown,
  token: string = ADMIN_ENV.ADMIN_TOKEN,
): Promise<Answer & { json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/v1/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: JSON.parse(text) as Record<string, unknown>,
  };
}
