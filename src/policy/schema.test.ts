import { describe, expect, it } from 'vitest';
import { budgetsSchema, rateLimitsSchema } from './schema.js';

const base = { name: 'b', scope: { org: '*' }, limit_usd: 10, period: '1d' };

function issues(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) {
  return result.error?.issues.map((i) => i.path.join('.')) ?? [];
}

describe('policy schema: budgets', () => {
  it('fills defaults and precomputes the limit and reject bound', () => {
    const [b] = budgetsSchema.parse([base]);

    expect(b?.timezone).toBe('UTC');
    expect(b?.anchor).toBe('1970-01-01');
    expect(b?.mode).toBe('enforce');
    expect(b?.streams).toBe('cut');
    expect(b?.limitPico).toBe(10_000_000_000_000n);
    expect(b?.maxAfterPico).toBe(10_000_000_000_000n);
  });

  it('computes stage thresholds exactly', () => {
    const [b] = budgetsSchema.parse([
      {
        ...base,
        actions: [
          { at: 80.5, do: 'warn' },
          { at: 100, do: 'reject' },
        ],
      },
    ]);

    expect(b?.stages.map((s) => [s.at, s.thresholdPico])).toEqual([[80.5, 8_050_000_000_000n]]);
  });

  it('refuses stages out of order, twice at one percentage, or beyond 100%', () => {
    const result = budgetsSchema.safeParse([
      {
        ...base,
        actions: [
          { at: 100, do: 'reject' },
          { at: 80, do: 'warn' },
        ],
      },
      {
        ...base,
        name: 'twice',
        actions: [
          { at: 80, do: 'warn' },
          { at: 80, do: 'reject' },
        ],
      },
      { ...base, name: 'beyond', actions: [{ at: 120, do: 'reject' }], alerts: [] },
      { ...base, name: 'alert', alerts: [{ at: 150, channels: ['finance'] }] },
    ]);

    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['0.actions.1.at', 'stages go lowest first: 80% comes after 100%'],
      ['1.actions.1.at', 'two stages at 80%: each stage needs its own percentage'],
      ['2.actions.0.at', 'a percentage of the limit: above 0 and at most 100'],
      ['3.alerts.0.at', 'a percentage of the limit: above 0 and at most 100'],
    ]);
  });

  it('reports a duplicate name even when the duplicate has other mistakes', () => {
    const result = budgetsSchema.safeParse([base, { ...base, period: '2d', limit_usd: 'ten' }]);

    expect(result.error?.issues.map((i) => [i.path.join('.'), i.code])).toEqual([
      ['1.limit_usd', 'invalid_type'],
      ['1.period', 'invalid_value'],
      ['1.name', 'custom'],
    ]);
  });

  it('matches scopes over dimensions and tags', () => {
    const [b] = budgetsSchema.parse([{ ...base, scope: { team: 't1', 'tag:app': '*' } }]);

    expect(b?.matcher.match({ team: 't1', tags: { app: 'rag' } })).toBe('rag\u0000t1');
    expect(b?.matcher.match({ team: 't2', tags: { app: 'rag' } })).toBeNull();
    expect(b?.matcher.match({ team: 't1' })).toBeNull();
  });

  it('reports duplicate names, unknown keys, bad zones and bad anchors by path', () => {
    const result = budgetsSchema.safeParse([
      base,
      { ...base, timezone: 'Mars/Olympus', anchor: '2026-02-30', extra: 1 },
      { ...base, name: 'c', scope: { tenant: '*' } },
      { ...base, name: 'd', actions: [{ at: 90, do: 'throttle' }] },
    ]);

    expect(issues(result)).toEqual(
      expect.arrayContaining([
        '1',
        '1.timezone',
        '1.anchor',
        '2.scope.tenant',
        '3.actions.0.delay_ms',
      ]),
    );
  });
});

describe('policy schema: rate limits', () => {
  it('needs at least one limit', () => {
    const result = rateLimitsSchema.safeParse([{ name: 'r', scope: { org: '*' } }]);

    expect(result.success).toBe(false);
  });

  it('keeps the configured limits', () => {
    const [r] = rateLimitsSchema.parse([{ name: 'r', scope: {}, tokens_per_minute: 60000 }]);

    expect(r?.tokensPerMinute).toBe(60000);
    expect(r?.requestsPerMinute).toBeNull();
    expect(r?.matcher.match({})).toBe('');
  });
});
