/**
 * Decision headers: the IETF RateLimit fields for the tightest policy and the budget warning
 * header. Header names are lower-case, as Node sends them.
 */
import type { Pico } from '../money/money.js';

const PICO_PER_MICRO_USD = 1_000_000n;

/** One policy's quota figures, in the units its RateLimit fields use. */
export type PolicyFigures = {
  readonly name: string;
  /** Micro-USD for budgets, tokens or requests for rate limits. */
  readonly quota: number;
  readonly remaining: number;
  readonly windowSeconds: number;
  readonly resetSeconds: number;
};

/** A budget's figures: quota and remaining in whole micro-USD (remaining rounded down). */
export function budgetFigures(
  name: string,
  limit: Pico,
  remaining: Pico,
  startMs: number,
  endMs: number,
  nowMs: number,
): PolicyFigures {
  return {
    name,
    quota: Number(limit / PICO_PER_MICRO_USD),
    remaining: Number(remaining / PICO_PER_MICRO_USD),
    windowSeconds: Math.round((endMs - startMs) / 1000),
    resetSeconds: Math.max(0, Math.ceil((endMs - nowMs) / 1000)),
  };
}

/** Writes `ratelimit-policy` and `ratelimit` for one policy into `headers`. */
export function writeRateLimitHeaders(headers: Record<string, string>, p: PolicyFigures): void {
  const name = headerText(p.name);
  headers['ratelimit-policy'] = `"${name}";q=${p.quota};w=${p.windowSeconds}`;
  headers['ratelimit'] = `"${name}";r=${p.remaining};t=${p.resetSeconds}`;
}

/** `used=<percent>` for a utilization fraction: at most two decimals, rounded down. */
export function formatPercent(utilization: number): string {
  return String(Math.floor(utilization * 10_000 + 1e-6) / 100);
}

/** One entry of `x-spendgate-budget-warning`. */
export function budgetWarning(name: string, utilization: number): string {
  return `${headerText(name)}; used=${formatPercent(utilization)}%`;
}

// What Node refuses in a header value: control characters and anything above U+00FF.
const NOT_HEADER_TEXT = /[^\t\x20-\x7e\x80-\xff]/u;

/**
 * A policy name as header text: characters Node refuses in a header (a name in Japanese, a
 * newline) are written percent-encoded in UTF-8, the rest as they are. The policy headers are
 * written with the answer, after the request was forwarded: a name Node refuses there would
 * fail a request the provider has already served.
 */
function headerText(name: string): string {
  if (!NOT_HEADER_TEXT.test(name)) return name;
  return name.replace(new RegExp(NOT_HEADER_TEXT.source, 'gu'), (c) =>
    Array.from(
      Buffer.from(c, 'utf8'),
      (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    ).join(''),
  );
}
