/**
 * Budget periods as windows of absolute time, computed in the budget's IANA time zone with
 * `Intl.DateTimeFormat` offsets. Local days are 23 or 25 hours long on DST transition days.
 */

import {
  DAY_MS as DAY,
  HOUR_MS as HOUR,
  MINUTE_MS as MINUTE,
  isTimeZone,
  wallToInstant,
  zoneOffsetMs,
} from '../time/zone.js';

/** The period lengths a budget can have. */
export const PERIODS = ['5m', '1h', '1d', '7d', '30d', 'month'] as const;

/** One budget period kind. */
export type Period = (typeof PERIODS)[number];

/** A half-open window `[startMs, endMs)` of epoch milliseconds. */
export type PeriodWindow = { readonly startMs: number; readonly endMs: number };

/** Whether `timezone` is an IANA zone name this runtime knows. */
export const isValidTimezone = isTimeZone;
export { wallToInstant, zoneOffsetMs };

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
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
