/** Time buckets of the spend query, in an IANA time zone: pure, shared by every ledger. */

/** The bucket sizes `GET /spend` accepts. */
export const GRANULARITIES = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  isTimeZone as isKnownZone,
  zoneOffsetMs,
} from '../time/zone.js';

export { DAY_MS, HOUR_MS, MINUTE_MS };

/** Whether `tz` names a time zone this runtime knows. */
export const isTimeZone = isKnownZone;

type Wall = { year: number; month: number; day: number; hour: number; minute: number };

function wallTime(tz: string, ms: number): Wall & { second: number } {
  const d = new Date(ms + offsetMs(tz, ms));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** The zone's offset from UTC at an instant, in ms (Asia/Kolkata: 19,800,000). */
export function offsetMs(tz: string, ms: number): number {
  return zoneOffsetMs(tz, ms);
}

/** The instant of a wall-clock time in the zone (Date.UTC arguments, month 1-based). */
function wallToUtc(tz: string, year: number, month: number, day: number): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - offsetMs(tz, guess);
  const second = guess - offsetMs(tz, first);
  return second;
}

/**
 * The start of the bucket holding `ms`: minutes and hours by the offset at that instant (so the
 * repeated hour of a DST change is two buckets), days, weeks (from Monday) and months from local
 * midnight.
 */
export function bucketStart(ms: number, granularity: Granularity, tz: string): number {
  if (granularity === 'minute' || granularity === 'hour') {
    const unit = granularity === 'minute' ? MINUTE_MS : HOUR_MS;
    const offset = offsetMs(tz, ms);
    return Math.floor((ms + offset) / unit) * unit - offset;
  }

  const w = wallTime(tz, ms);
  if (granularity === 'month') return wallToUtc(tz, w.year, w.month, 1);
  if (granularity === 'day') return wallToUtc(tz, w.year, w.month, w.day);
  const mondayBased = (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7;
  return wallToUtc(tz, w.year, w.month, w.day - mondayBased);
}

/** The start of the day, week or month after the one starting at `start`, by local dates. */
function nextCalendarStart(start: number, granularity: Granularity, tz: string): number {
  // An hour past the start is still inside the bucket, whatever the zone's offset did.
  const w = wallTime(tz, start + HOUR_MS);
  if (granularity === 'month') return wallToUtc(tz, w.year, w.month + 1, 1);
  return wallToUtc(tz, w.year, w.month, w.day + (granularity === 'week' ? 7 : 1));
}

/**
 * Whether every `grainMs` slice of [fromMs, toMs) (slices aligned to the epoch) lies inside one
 * bucket, so sums kept per slice can be regrouped into buckets exactly.
 */
export function slicesFitBuckets(
  fromMs: number,
  toMs: number,
  grainMs: number,
  granularity: Granularity,
  tz: string,
): boolean {
  const first = Math.floor(fromMs / grainMs) * grainMs;
  if (granularity === 'minute' || granularity === 'hour') {
    for (let slice = first; slice < toMs; slice += grainMs) {
      const end = slice + grainMs - 1;
      if (bucketStart(slice, granularity, tz) !== bucketStart(end, granularity, tz)) return false;
    }
    return true;
  }

  // Calendar buckets are few: walk their starts and check each falls on a slice boundary.
  for (let start = bucketStart(first, granularity, tz); start < toMs;) {
    if (start > first && start % grainMs !== 0) return false;
    start = nextCalendarStart(start, granularity, tz);
  }
  return true;
}
