/**
 * Wall-clock time in IANA zones, from `Intl.DateTimeFormat` offsets (no date library): shared by
 * budget periods and the spend query's buckets.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The cached wall-clock formatter of a zone; throws a RangeError for an unknown zone. */
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
export function isTimeZone(timezone: string): boolean {
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
  const before = zoneOffsetMs(timezone, wallMs - DAY_MS);
  const after = zoneOffsetMs(timezone, wallMs + DAY_MS);
  const early = wallMs - before;
  const late = wallMs - after;
  const earlyOk = zoneOffsetMs(timezone, early) === before;
  const lateOk = zoneOffsetMs(timezone, late) === after;

  if (earlyOk && lateOk) return Math.min(early, late);
  if (earlyOk) return early;
  if (lateOk) return late;
  return early;
}
