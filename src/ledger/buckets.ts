/** Time buckets of the spend query, in an IANA time zone: pure, shared by every ledger. */

/** The bucket sizes `GET /spend` accepts. */
export const GRANULARITIES = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The cached wall-clock formatter of a zone; throws a RangeError for an unknown zone. */
function formatter(tz: string): Intl.DateTimeFormat {
  let found = formatters.get(tz);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, found);
  }
  return found;
}

/** Whether `tz` names a time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

type Wall = { year: number; month: number; day: number; hour: number; minute: number };

function wallTime(tz: string, ms: number): Wall & { second: number } {
  if (tz === 'UTC') {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }
  const wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(tz).formatToParts(ms)) {
    if (part.type in wall) wall[part.type as keyof typeof wall] = Number(part.value);
  }
  return wall;
}

/** The zone's offset from UTC at an instant, in ms (Asia/Kolkata: 19,800,000). */
export function offsetMs(tz: string, ms: number): number {
  if (tz === 'UTC') return 0;
  const w = wallTime(tz, ms);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
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
