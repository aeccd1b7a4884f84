/** Time windows and time text of the dashboard; everything is UTC, as the admin API is. */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The bucket size of the charts: 48 hourly buckets, or 30 daily ones. */
export type BucketSize = 'hour' | 'day';

/** The windows one refresh asks for, from the gateway's current time. */
export type Windows = {
  /** Start of the UTC day six days before today: "last 7 days" is seven calendar days. */
  from7d: number;
  /** Start of the UTC day 29 days before today. */
  from30d: number;
  /** Start of the hour 47 hours before this one: 48 hourly buckets. */
  from48h: number;
};

/**
 * Windows start on whole UTC days (or hours), so the daily buckets of a query add up to exactly
 * the 7- and 30-day totals and the numbers match `GET /api/v1/spend?from=` with the same start.
 */
export function windowsAt(nowMs: number): Windows {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const hour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  return { from7d: today - 6 * DAY_MS, from30d: today - 29 * DAY_MS, from48h: hour - 47 * HOUR_MS };
}

/** The starts of every bucket of a chart, oldest first, so gaps draw as zero. */
export function bucketStarts(windows: Windows, size: BucketSize): number[] {
  const [from, step, count] =
    size === 'hour' ? [windows.from48h, HOUR_MS, 48] : [windows.from30d, DAY_MS, 30];
  return Array.from({ length: count }, (_, i) => from + i * step);
}

/** `2026-12-15T18:45:00.000Z` → `2026-12-15 18:45 UTC`. */
export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** An ISO time of the API as `2026-12-15 18:45 UTC`, or a dash when there is none. */
export function formatIsoUtc(iso: string | null | undefined): string {
  if (!iso) return '–';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : formatUtc(ms);
}

/** The wall time a refresh finished, in the viewer's own zone: `14:03:07`. */
export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}
