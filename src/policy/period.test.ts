import { describe, expect, it } from 'vitest';
import { periodWindow, periodWindowCache } from './period.js';

const ms = (iso: string): number => Date.parse(iso);
const iso = (w: { startMs: number; endMs: number }) => [
  new Date(w.startMs).toISOString(),
  new Date(w.endMs).toISOString(),
];

describe('budget periods: clock-aligned windows', () => {
  it('aligns 5m and 1h windows to the utc clock', () => {
    const now = ms('2026-05-10T13:47:12.345Z');

    expect(iso(periodWindow('5m', 'UTC', '1970-01-01', now))).toEqual([
      '2026-05-10T13:45:00.000Z',
      '2026-05-10T13:50:00.000Z',
    ]);
    expect(iso(periodWindow('1h', 'UTC', '1970-01-01', now))).toEqual([
      '2026-05-10T13:00:00.000Z',
      '2026-05-10T14:00:00.000Z',
    ]);
  });

  it('aligns 1h to the local clock in a half-hour zone', () => {
    const now = ms('2026-05-10T13:47:00Z');

    expect(iso(periodWindow('1h', 'Asia/Kolkata', '1970-01-01', now))).toEqual([
      '2026-05-10T13:30:00.000Z',
      '2026-05-10T14:30:00.000Z',
    ]);
  });

  it('starts a utc day at midnight utc', () => {
    const w = periodWindow('1d', 'UTC', '1970-01-01', ms('2026-05-10T23:59:59.999Z'));

    expect(iso(w)).toEqual(['2026-05-10T00:00:00.000Z', '2026-05-11T00:00:00.000Z']);
  });

  it('starts an asia/shanghai day at 16:00 utc the day before', () => {
    const w = periodWindow('1d', 'Asia/Shanghai', '1970-01-01', ms('2026-05-10T15:59:00Z'));

    expect(iso(w)).toEqual(['2026-05-09T16:00:00.000Z', '2026-05-10T16:00:00.000Z']);
  });
});

describe('budget periods: dst days in europe/amsterdam', () => {
  it('makes 2026-03-29 a 23-hour day', () => {
    const w = periodWindow('1d', 'Europe/Amsterdam', '1970-01-01', ms('2026-03-29T12:00:00Z'));

    expect(w.startMs).toBe(ms('2026-03-28T23:00:00Z'));
    expect(w.endMs).toBe(ms('2026-03-29T22:00:00Z'));
    expect(w.endMs - w.startMs).toBe(23 * 3_600_000);
  });

  it('makes 2026-10-25 a 25-hour day', () => {
    const w = periodWindow('1d', 'Europe/Amsterdam', '1970-01-01', ms('2026-10-25T12:00:00Z'));

    expect(w.startMs).toBe(ms('2026-10-24T22:00:00Z'));
    expect(w.endMs).toBe(ms('2026-10-25T23:00:00Z'));
    expect(w.endMs - w.startMs).toBe(25 * 3_600_000);
  });

  it('puts the last millisecond before local midnight in the old day', () => {
    const end = ms('2026-03-29T22:00:00Z');

    expect(periodWindow('1d', 'Europe/Amsterdam', '1970-01-01', end - 1).endMs).toBe(end);
    expect(periodWindow('1d', 'Europe/Amsterdam', '1970-01-01', end).startMs).toBe(end);
  });

  it('gives each repeated hour of the fall-back night its own 1h window', () => {
    const first = periodWindow('1h', 'Europe/Amsterdam', '1970-01-01', ms('2026-10-25T00:30:00Z'));
    const second = periodWindow('1h', 'Europe/Amsterdam', '1970-01-01', ms('2026-10-25T01:30:00Z'));

    expect(first.startMs).toBe(ms('2026-10-25T00:00:00Z'));
    expect(second.startMs).toBe(ms('2026-10-25T01:00:00Z'));
  });
});

describe('budget periods: weeks, months and 30-day runs', () => {
  it('starts a week on monday 00:00 local', () => {
    // 2026-05-10 is a Sunday.
    const w = periodWindow('7d', 'UTC', '1970-01-01', ms('2026-05-10T20:00:00Z'));

    expect(iso(w)).toEqual(['2026-05-04T00:00:00.000Z', '2026-05-11T00:00:00.000Z']);
  });

  it('starts a new week at monday midnight', () => {
    const w = periodWindow('7d', 'UTC', '1970-01-01', ms('2026-05-11T00:00:00Z'));

    expect(new Date(w.startMs).toISOString()).toBe('2026-05-11T00:00:00.000Z');
  });

  it('keeps jan 31 23:30 in los angeles in january', () => {
    const w = periodWindow(
      'month',
      'America/Los_Angeles',
      '1970-01-01',
      ms('2026-02-01T07:30:00Z'),
    );

    expect(iso(w)).toEqual(['2026-01-01T08:00:00.000Z', '2026-02-01T08:00:00.000Z']);
  });

  it('puts feb 1 00:00 in los angeles in february', () => {
    const w = periodWindow(
      'month',
      'America/Los_Angeles',
      '1970-01-01',
      ms('2026-02-01T08:00:00Z'),
    );

    expect(iso(w)).toEqual(['2026-02-01T08:00:00.000Z', '2026-03-01T08:00:00.000Z']);
  });

  it('counts 30-day windows from the anchor date', () => {
    const w = periodWindow('30d', 'UTC', '2026-01-01', ms('2026-03-05T10:00:00Z'));

    expect(iso(w)).toEqual(['2026-03-02T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  });

  it('counts 30-day windows backwards before the anchor', () => {
    const w = periodWindow('30d', 'UTC', '2026-01-01', ms('2025-12-31T23:00:00Z'));

    expect(iso(w)).toEqual(['2025-12-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });

  it('runs 30-day windows from the anchor in the default 1970 epoch', () => {
    const w = periodWindow('30d', 'UTC', '1970-01-01', ms('1970-02-01T00:00:00Z'));

    expect(iso(w)).toEqual(['1970-01-31T00:00:00.000Z', '1970-03-02T00:00:00.000Z']);
  });
});

describe('budget periods: memoized window', () => {
  it('returns the same window object while now stays inside it', () => {
    const window = periodWindowCache('1d', 'Europe/Amsterdam', '1970-01-01');

    const a = window(ms('2026-03-29T01:00:00Z'));
    const b = window(ms('2026-03-29T21:59:59Z'));
    const c = window(ms('2026-03-29T22:00:00Z'));

    expect(b).toBe(a);
    expect(c.startMs).toBe(ms('2026-03-29T22:00:00Z'));
    expect(window(ms('2026-03-28T23:30:00Z')).startMs).toBe(a.startMs);
  });
});
