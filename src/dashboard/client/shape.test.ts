import { describe, expect, it } from 'vitest';
import {
  rejectRate,
  spendSeries,
  stoppedLines,
  tenantLines,
  topLines,
  windowTotals,
} from './shape.js';
import { bucketStarts, windowsAt } from './time.js';
import type { SpendRow } from './types.js';

const NOW = Date.parse('2026-12-15T12:30:00Z');
const W = windowsAt(NOW);

function spend(extra: Partial<SpendRow> & Record<string, unknown>): SpendRow {
  return {
    cost_usd: 0n,
    requests: 1,
    input_tokens: 0,
    output_tokens: 0,
    cached_input_tokens: 0,
    unpriced_requests: 0,
    ...extra,
  };
}

describe('dashboard windows', () => {
  it('counts seven and thirty calendar days in UTC, today included', () => {
    expect(new Date(W.from7d).toISOString()).toBe('2026-12-09T00:00:00.000Z');
    expect(new Date(W.from30d).toISOString()).toBe('2026-11-16T00:00:00.000Z');
    expect(new Date(W.from48h).toISOString()).toBe('2026-12-13T13:00:00.000Z');
    expect(bucketStarts(W, 'day')).toHaveLength(30);
    expect(new Date(bucketStarts(W, 'hour').at(-1) ?? 0).toISOString()).toBe(
      '2026-12-15T12:00:00.000Z',
    );
  });
});

describe('dashboard shapes: tenants and totals', () => {
  const rows = [
    spend({ org: 'acme', bucket: '2026-12-15T00:00:00.000Z', cost_usd: 10n, requests: 2 }),
    spend({ org: 'acme', bucket: '2026-12-08T00:00:00.000Z', cost_usd: 5n, requests: 1 }),
    spend({
      org: 'globex',
      bucket: '2026-12-09T00:00:00.000Z',
      cost_usd: 7n,
      requests: 4,
      unpriced_requests: 2,
    }),
  ];

  it('splits each tenant into its 7- and 30-day spend, largest 30-day first', () => {
    expect(tenantLines(rows, W.from7d)).toEqual([
      { org: 'acme', cost7d: 10n, cost30d: 15n, requests30d: 3 },
      { org: 'globex', cost7d: 7n, cost30d: 7n, requests30d: 4 },
    ]);
  });

  it('sums the totals exactly; a bucket on the 7-day start counts in it', () => {
    expect(windowTotals(rows, W.from7d)).toEqual({ total7d: 17n, total30d: 22n, unpriced30d: 2 });
  });
});

describe('dashboard shapes: charts', () => {
  it('draws a zero where a tenant had no spend, and keeps the top series', () => {
    const starts = bucketStarts(W, 'day');
    const chart = spendSeries(
      [
        spend({ org: 'acme', bucket: '2026-12-15T00:00:00.000Z', cost_usd: 1_500_000_000_000n }),
        spend({ org: 'tiny', bucket: '2026-12-15T00:00:00.000Z', cost_usd: 1n }),
      ],
      'org',
      starts,
      1,
    );

    expect(chart.series).toHaveLength(1);
    expect(chart.series[0]?.label).toBe('acme');
    expect(chart.series[0]?.values.at(-1)).toBe(1.5);
    expect(chart.series[0]?.values[0]).toBe(0);
  });

  it('gives the share rejected per bucket, and a gap where nothing was asked', () => {
    const starts = bucketStarts(W, 'hour');
    const at = new Date(starts[47] ?? 0).toISOString();
    const chart = rejectRate(
      [
        spend({ decision: 'allow', bucket: at, requests: 3 }),
        spend({ decision: 'reject', bucket: at, requests: 1 }),
      ],
      starts,
    );

    expect(chart.series[0]?.values[47]).toBe(25);
    expect(chart.series[0]?.values[0]).toBeNull();
  });
});

describe('dashboard shapes: who was stopped, top spenders', () => {
  it('counts rejected requests per identity and reason, most first', () => {
    const row = (user: string, reason: string, timestamp: string) => ({
      request_id: 'r',
      timestamp,
      org: 'acme',
      team: 't',
      user,
      decision: 'reject',
      reason,
    });
    const lines = stoppedLines([
      row('bob', 'budget_exceeded', '2026-12-15T10:00:00Z'),
      row('eve', 'rpm_exceeded', '2026-12-15T09:00:00Z'),
      row('eve', 'rpm_exceeded', '2026-12-15T11:00:00Z'),
    ]);

    expect(lines.map((l) => [l.user, l.reason, l.count])).toEqual([
      ['eve', 'rpm_exceeded', 2],
      ['bob', 'budget_exceeded', 1],
    ]);
    expect(new Date(lines[0]?.lastMs ?? 0).toISOString()).toBe('2026-12-15T11:00:00.000Z');
  });

  it('gives the average prompt as input tokens per request, rounded', () => {
    expect(
      topLines([spend({ model: 'gpt-4o', input_tokens: 1001, requests: 2 })], 'model'),
    ).toEqual([{ name: 'gpt-4o', cost: 0n, requests: 2, avgPrompt: 501 }]);
  });

  it('names requests refused before a model was known (none)', () => {
    expect(topLines([spend({ model: '', requests: 3 })], 'model')).toEqual([
      { name: '(none)', cost: 0n, requests: 3, avgPrompt: 0 },
    ]);
  });
});
