/**
 * Kill switches: an operator blocks one dimension value (`org=acme`) at once, optionally until
 * an expiry. Matching is pure; the records live wherever the admin API keeps them.
 */
import type { Dimension, RequestDims } from './scope.js';

/** One kill switch record, as the admin API creates it. */
export type KillSwitch = {
  readonly id: string;
  /** A fixed dimension or `tag:<name>`. */
  readonly dimension: Dimension | `tag:${string}`;
  readonly value: string;
  /** Epoch milliseconds after which the switch no longer blocks; absent means until deleted. */
  readonly expires_at?: number | undefined;
  readonly reason?: string | undefined;
  readonly created_by: string;
};

/** Whether a switch is still in force at `nowMs`. */
export function isKillSwitchActive(record: KillSwitch, nowMs: number): boolean {
  return record.expires_at === undefined || nowMs < record.expires_at;
}

/** The first active switch that blocks a request with these dimensions, or null. */
export function matchKillSwitch(
  records: readonly KillSwitch[],
  dims: RequestDims,
  nowMs: number,
): KillSwitch | null {
  for (const record of records) {
    if (!isKillSwitchActive(record, nowMs)) continue;
    const value = record.dimension.startsWith('tag:')
      ? dims.tags?.[record.dimension.slice(4)]
      : dims[record.dimension as Dimension];
    if (value === record.value) return record;
  }
  return null;
}

/** Whole seconds until a switch expires, rounded up, or null when it has no expiry. */
export function killSwitchRetryAfter(record: KillSwitch, nowMs: number): number | null {
  if (record.expires_at === undefined) return null;
  return Math.max(1, Math.ceil((record.expires_at - nowMs) / 1000));
}
