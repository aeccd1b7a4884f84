import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerRow } from '../../src/ledger/row.js';
import {
  picoToDecimal,
  roundMicroPico,
  tokensTimesRate,
  usdToPico,
  type Pico,
} from '../../src/money/money.js';
import type { TestGateway } from './gateway.js';
import type { MockReply, ReceivedRequest } from './mock-upstream.js';
import { chatCompletion, chatUsage } from './wire.js';

/** The admin tokens every budget test configures: one that sees all, one confined to acme. */
export const ADMIN_ENV = { ADMIN_TOKEN: 'admin-secret-1', ACME_TOKEN: 'acme-viewer-secret-2' };

/** The `admin:` section that goes with {@link ADMIN_ENV}. */
export const ADMIN_YAML = `
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
    - { name: acme-viewer, token_env: ACME_TOKEN, scope: { org: acme } }
`;

/** What an admin call answered: status, the raw body text and its parsed JSON. */
export type AdminAnswer = { status: number; text: string; json: Record<string, unknown> };

/** Calls the admin API with a bearer token (the unscoped one unless told otherwise). */
export async function admin(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<AdminAnswer> {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${opts.token ?? ADMIN_ENV.ADMIN_TOKEN}`,
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
}

/**
 * `GET /api/v1/events?<query>` once the events recorded so far are written: the ledger writes
 * them in batches a few milliseconds apart, and a test must not race that.
 */
export async function eventsOf(
  gateway: TestGateway,
  query: string,
): Promise<Record<string, unknown>[]> {
  await gateway.deps.ledger.flush();
  const answer = await admin(gateway.url, 'GET', `/events?${query}`);
  if (answer.status !== 200) throw new Error(`GET /events answered ${answer.status}`);
  return answer.json.data as Record<string, unknown>[];
}

/** One entry of `GET /api/v1/budgets`, as parsed JSON. */
export type BudgetEntry = Record<string, unknown> & { name: string; scope: Record<string, string> };

/** `GET /api/v1/budgets` for a token: its entries and the raw text (for exact decimals). */
export async function budgetsOf(
  baseUrl: string,
  token?: string,
): Promise<{ data: BudgetEntry[]; text: string }> {
  const answer = await admin(baseUrl, 'GET', '/budgets', { token });
  if (answer.status !== 200) throw new Error(`GET /budgets answered ${answer.status}`);
  return { data: answer.json.data as BudgetEntry[], text: answer.text };
}

/** The exact sum of the rows' costs (null costs count as nothing), as a decimal string. */
export function sumCostUsd(rows: readonly LedgerRow[]): string {
  return picoToDecimal(rows.reduce<Pico>((sum, r) => sum + (r.costPico ?? 0n), 0n));
}

/** The cost of `input` and `output` tokens at USD-per-million rates, as a decimal string. */
export function costAt(input: number, output: number, inPerM: string, outPerM: string): string {
  return picoToDecimal(usdCost(input, output, inPerM, outPerM));
}

/** The same cost in pico-dollars, for comparisons and sums. */
export function usdCost(input: number, output: number, inPerM: string, outPerM: string): Pico {
  // One rounding per request, half up, as the gateway prices a row.
  return roundMicroPico(
    tokensTimesRate(input, usdToPico(inPerM)) + tokensTimesRate(output, usdToPico(outPerM)),
  );
}

/** A fresh folder for a ledger file that several gateways open one after another. */
export function ledgerFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'spendgate-ledger-')), 'shared.db');
}

/**
 * A chat completion reply whose usage is worked out from the request the mock received: the
 * prompt tokens fixed, the completion tokens equal to the request's `max_tokens`.
 */
export function chatEchoingMaxTokens(model: string, promptTokens: number, delayMs = 0) {
  return (req: ReceivedRequest): MockReply => {
    const body = JSON.parse(req.body) as { max_tokens?: number };
    const completion = body.max_tokens ?? 0;
    return {
      kind: 'json',
      delayMs,
      body: chatCompletion(model, 'OK', chatUsage(promptTokens, completion)),
    };
  };
}

/** Milliseconds a promise took, with its value. */
export async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

/** The data payloads of an SSE text, in order (`[DONE]` included as the string). */
export function sseData(text: string): string[] {
  return text
    .split(/\n\n/)
    .flatMap((block) => block.split('\n').filter((line) => line.startsWith('data: ')))
    .map((line) => line.slice('data: '.length));
}
