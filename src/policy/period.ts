/**
 * Budget periods as windows of absolute time, computed in the budget's IANA time zone with
 * `Intl.DateTimeFormat` offsets. Local days are 23 or 25 hours long on DST transition days.
 */

/** The period lengths a budget can have. */
export const PERIODS = ['5m', '1h', '1d', '7d', '30d', 'month'] as const;

/** One budget period kind. */
export type Period = (typeof PERIODS)[number];

/** A half-open window `[startMs, endMs)` of epoch milliseconds. */
export type PeriodWindow = { readonly startMs: number; readonly endMs: number };

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** Whether `timezone` is an IANA zone name this runtime knows. */
export function isValidTimezone(timezone: string): boolean {
  try {
    formatterFor(timezone);
    return true;
  } catch {
    return false;
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** The zone's offset at instant `t`: local wall-clock time (read as UTC) minus `t`. */
export function zoneOffsetMs(timezone: string, t: number): number {
  if (timezone === 'UTC' || timezone === 'Etc/UTC') return 0;
  const whole = t - mod(t, 1000);
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatterFor(timezone).formatToParts(whole)) {
    const n = Number(part.value);
    if (part.type === 'year') year = n;
    else if (part.type === 'month') month = n;
    else if (part.type === 'day') day = n;
    else if (part.type === 'hour') hour = n;
    else if (part.type === 'minute') minute = n;
    else if (part.type === 'second') second = n;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) - whole;
}

/**
 * The instant at which the zone's clock reads `wallMs` (a local time written as UTC). A time
 * that occurs twice (fall back) gives its first occurrence; a time skipped by a spring-forward
 * gap gives the transition instant, so a day whose midnight does not exist starts at 01:00.
 */
export function wallToInstant(timezone: string, wallMs: number): number {
  // Zone rules never change twice within two days, so the offsets a day either side bracket it.
  const before = zoneOffsetMs(timezone, wallMs - DAY);
  const after = zoneOffsetMs(timezone, wallMs + DAY);
  const early = wallMs - before;
  const late = wallMs - after;
  const earlyOk = zoneOffsetMs(timezone, early) === before;
  const lateOk = zoneOffsetMs(timezone, late) === after;

  if (earlyOk && lateOk) return Math.min(early, late);
  if (earlyOk) return early;
  if (lateOk) return late;
  return early;
}

function localMidnight(timezone: string, dayNumber: number): number {
  return wallToInstant(timezone, dayNumber * DAY);
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumberOf(date: string): number {
  const [y = '1970', m = '1', d = '1'] = date.split('-');
  return Math.floor(Date.UTC(Number(y), Number(m) - 1, Number(d)) / DAY);
}

/**
 * The period window containing `nowMs`: 5m and 1h aligned to the zone's clock, 1d from local
 * midnight, 7d from Monday 00:00 local, month from the 1st at 00:00 local, 30d in fixed runs of
 * 30 local days counted from the `anchor` date (`YYYY-MM-DD`).
 */
export function periodWindow(
  period: Period,
  timezone: string,
  anchor: string,
  nowMs: number,
): PeriodWindow {
  const wall = nowMs + zoneOffsetMs(timezone, nowMs);

  if (period === '5m' || period === '1h') {
    const size = period === '5m' ? 5 * MINUTE : HOUR;
    const startMs = nowMs - mod(wall, size);
    return { startMs, endMs: startMs + size };
  }

  const today = Math.floor(wall / DAY);
  if (period === '1d') {
    return { startMs: localMidnight(timezone, today), endMs: localMidnight(timezone, today + 1) };
  }
  if (period === '7d') {
    // Day 0 (1970-01-01) was a Thursday, so day 4 was the first Monday.
    const monday = today - mod(today + 3, 7);
    return { startMs: localMidnight(timezone, monday), endMs: localMidnight(timezone, monday + 7) };
  }
  if (period === 'month') {
    const date = new Date(wall);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth();
    return {
      startMs: wallToInstant(timezone, Date.UTC(year, month, 1)),
      endMs: wallToInstant(timezone, Date.UTC(year, month + 1, 1)),
    };
  }

  const anchorDay = dayNumberOf(anchor);
  const first = anchorDay + 30 * Math.floor((today - anchorDay) / 30);
  return { startMs: localMidnight(timezone, first), endMs: localMidnight(timezone, first + 30) };
}

/**
 * A memoized {@link periodWindow} for one budget: while `nowMs` stays inside the last window the
 * call is two comparisons and returns the same object, so the hot path makes no Intl call.
 */
export function periodWindowCache(
  period: Period,
  timezone: string,
  anchor: string,
): (nowMs: number) => PeriodWindow {
  let current: PeriodWindow = { startMs: 0, endMs: -1 };
  return (nowMs) => {
    if (nowMs >= current.startMs && nowMs < current.endMs) return current;
    const next = periodWindow(period, timezone, anchor, nowMs);
    // Reading an old instant (a late settle, a report) must not evict the live window.
    if (nowMs >= current.endMs) current = next;
    return next;
  };
}
