import { describe, expect, it } from 'vitest';
import type { Alert } from './alert.js';
import { alertSentences, dashboardLink, describeScope, formatUsd } from './format.js';

describe('alert wording: money', () => {
  it('writes dollars with thousands separators and cents', () => {
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.0042)).toBe('$0.0042');
  });
});

describe('alert wording: sentences', () => {
  it('says who, how fast against the baseline, and the budget use', () => {
    const alert: Alert = {
      kind: 'anomaly',
      severity: 'critical',
      title: 'Spend anomaly for org acme',
      summary: 'Spend is far above normal.',
      scope: { org: 'acme', team: 'search' },
      figures: {
        rate_usd_per_hour: 1234.56,
        baseline_usd_per_hour: 100,
        window: '5m',
        spent_usd: 900,
        limit_usd: 1000,
        rule: 'org-daily',
      },
      atMs: 0,
      channels: [],
      dedupeKey: 'k',
    };

    expect(alertSentences(alert)).toEqual([
      'Spend is far above normal.',
      'Scope: org acme, team search.',
      'Spending $1,234.56 per hour over the last 5m, 12.3 times its baseline of $100.00 per hour.',
      'Budget org-daily: $900.00 of $1,000.00 spent (90%).',
    ]);
  });

  it('names an empty scope as the whole gateway', () => {
    expect(describeScope({})).toBe('the whole gateway');
  });
});

describe('alert wording: dashboard link', () => {
  it('adds the scope as query parameters to the configured base', () => {
    const link = dashboardLink('https://spend.example/dash?view=live', {
      org: 'a&b',
      'tag:env': 'prod',
    });

    expect(link).toBe('https://spend.example/dash?view=live&org=a%26b&tag%3Aenv=prod');
  });

  it('gives no link without a dashboard url', () => {
    expect(dashboardLink(undefined, { org: 'acme' })).toBeNull();
  });
});
