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
  const name = sfStringText(p.name);
  headers['ratelimit-policy'] = `"${name}";q=${p.quota};w=${p.windowSeconds}`;
  headers['ratelimit'] = `"${name}";r=${p.remaining};t=${p.resetSeconds}`;
}

/** `used=<percent>` for a utilization fraction: at most two decimals, rounded down. */
export function formatPercent(utilization: number): string {
  return String(Math.floor(utilization * 10_000 + 1e-6) / 100);
}

/** One entry of `x-spendgate-budget-warning`. */
export function budgetWarning(name: string, utilization: number): string {
  return `${warningText(name)}; used=${formatPercent(utilization)}%`;
}

/*
 * Policy names as header text. Anything but printable ASCII (a name in Japanese, an accented
 * letter, a newline) is written percent-encoded in UTF-8, and so is `%` itself, so a reader can
 * decode every name the same way: the policy headers are written with the answer, after the
 * request was forwarded, and a name Node refused there would fail a request the provider has
 * already served, while Latin-1 bytes, which Node lets through, are read differently by
 * different clients and are not allowed in a structured-field string. Each header then encodes
 * its own separators. A name with nothing to encode costs one regex test.
 */
const NOT_HEADER_TEXT = /[^\x20-\x7e]|%/gu;
// RFC 8941 §3.3.3: an sf-string escapes `"` and `\` with a backslash.
const NOT_SF_STRING_TEXT = /[^\x20-\x7e]|[%"\\]/u;
const SF_ESCAPED = /["\\]/g;
// The warning joins `<name>; used=` entries with commas: a `,` or `;` in a name would split one.
const NOT_WARNING_TEXT = /[^\x20-\x7e]|[%,;]/u;
const NOT_WARNING_TEXT_ALL = new RegExp(NOT_WARNING_TEXT.source, 'gu');

/** A policy name as the content of the RateLimit fields' sf-string. */
function sfStringText(name: string): string {
  if (!NOT_SF_STRING_TEXT.test(name)) return name;
  return name.replace(NOT_HEADER_TEXT, percentEncoded).replace(SF_ESCAPED, '\\$&');
}

/** A budget name in an entry of `x-spendgate-budget-warning`. */
function warningText(name: string): string {
  if (!NOT_WARNING_TEXT.test(name)) return name;
  return name.replace(NOT_WARNING_TEXT_ALL, percentEncoded);
}

function percentEncoded(c: string): string {
  return Array.from(
    Buffer.from(c, 'utf8'),
    (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}
