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
  headers['ratelimit-policy'] = `"${p.name}";q=${p.quota};w=${p.windowSeconds}`;
  headers['ratelimit'] = `"${p.name}";r=${p.remaining};t=${p.resetSeconds}`;
}

/** `used=<percent>` for a utilization fraction: at most two decimals, rounded down. */
export function formatPercent(utilization: number): string {
  return String(Math.floor(utilization * 10_000 + 1e-6) / 100);
}

/** One entry of `x-spendgate-budget-warning`. */
export function budgetWarning(name: string, utilization: number): string {
  return `${name}; used=${formatPercent(utilization)}%`;
}
