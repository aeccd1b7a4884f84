import { describe, expect, it } from 'vitest';
import { bucketStart, HOUR_MS, isTimeZone, offsetMs, slicesFitBuckets } from './buckets.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('time zone offsets', () => {
  it('gives the offset of whole-hour and half-hour zones in ms', () => {
    expect(offsetMs('Asia/Kolkata', at('2026-03-10T00:00:00Z'))).toBe(19_800_000);
    expect(offsetMs('Asia/Shanghai', at('2026-03-10T00:00:00Z'))).toBe(28_800_000);
    expect(offsetMs('UTC', at('2026-03-10T00:00:00Z'))).toBe(0);
  });

  it('knows real zones and refuses made-up ones', () => {
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('bucket starts', () => {
  it('starts days at local midnight', () => {
    expect(iso(bucketStart(at('2026-03-10T20:00:00Z'), 'day', 'Asia/Kolkata'))).toBe(
      '2026-03-10T18:30:00.000Z',
    );
    expect(iso(bucketStart(at('2026-03-10T15:00:00Z'), 'day', 'Asia/Shanghai'))).toBe(
      '2026-03-09T16:00:00.000Z',
    );
    expect(iso(bucketStart(at('2026-03-10T23:59:59.999Z'), 'day', 'UTC'))).toBe(
      '2026-03-10T00:00:00.000Z',
    );
  });

  it('starts hours on the local hour, half past in asia/kolkata', () => {
    expect(iso(bucketStart(at('2026-03-10T10:45:00Z'), 'hour', 'Asia/Kolkata'))).toBe(
      '2026-03-10T10:30:00.000Z',
    );
    expect(iso(bucketStart(at('2026-03-10T10:15:00Z'), 'hour', 'Asia/Kolkata'))).toBe(
      '2026-03-10T09:30:00.000Z',
    );
    expect(iso(bucketStart(at('2026-03-10T10:15:30.5Z'), 'minute', 'UTC'))).toBe(
      '2026-03-10T10:15:00.000Z',
    );
  });

  it('starts weeks on monday and months on the first, local time', () => {
    expect(iso(bucketStart(at('2026-03-11T12:00:00Z'), 'week', 'UTC'))).toBe(
      '2026-03-09T00:00:00.000Z',
    );
    expect(iso(bucketStart(at('2026-03-08T20:00:00Z'), 'week', 'Asia/Shanghai'))).toBe(
      '2026-03-08T16:00:00.000Z',
    );
    expect(iso(bucketStart(at('2026-02-28T20:00:00Z'), 'month', 'Asia/Kolkata'))).toBe(
      '2026-02-28T18:30:00.000Z',
    );
  });

  it('keeps the repeated hour of a dst change as two buckets', () => {
    const tz = 'America/New_York';
    expect(iso(bucketStart(at('2026-11-01T05:30:00Z'), 'hour', tz))).toBe(
      '2026-11-01T05:00:00.000Z',
    );
    expect(iso(bucketStart(at('2026-11-01T06:30:00Z'), 'hour', tz))).toBe(
      '2026-11-01T06:00:00.000Z',
    );
    expect(iso(bucketStart(at('2026-11-01T12:00:00Z'), 'day', tz))).toBe(
      '2026-11-01T04:00:00.000Z',
    );
  });
});

describe('slices that fit buckets', () => {
  const from = at('2026-03-01T00:00:00Z');
  const to = at('2026-03-08T00:00:00Z');

  it('fits hourly slices into days of whole-hour zones only', () => {
    expect(slicesFitBuckets(from, to, HOUR_MS, 'day', 'Asia/Shanghai')).toBe(true);
    expect(slicesFitBuckets(from, to, HOUR_MS, 'day', 'Asia/Kolkata')).toBe(false);
    expect(slicesFitBuckets(from, to, HOUR_MS / 2, 'day', 'Asia/Kolkata')).toBe(true);
  });

  it('fits daily slices into utc days but not shanghai days', () => {
    expect(slicesFitBuckets(from, to, 24 * HOUR_MS, 'day', 'UTC')).toBe(true);
    expect(slicesFitBuckets(from, to, 24 * HOUR_MS, 'day', 'Asia/Shanghai')).toBe(false);
    expect(slicesFitBuckets(from, to, HOUR_MS, 'minute', 'UTC')).toBe(false);
  });
});
