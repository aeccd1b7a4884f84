import { describe, expect, it } from 'vitest';
import { formatEvent } from './events.js';

const AT = '2026-12-04T12:00:00.000Z';
const TENANT = { org: 'acme', team: 'search', user: 'alice' };

describe('spendgate events: one line per event', () => {
  it('names the tenant of a warning, whose message names only the budget', () => {
    const line = formatEvent({
      id: 'e1',
      timestamp: AT,
      type: 'warning',
      message: 'org-daily; used=85%',
      scope: TENANT,
      data: { delay_ms: 0 },
      actor: null,
    });

    expect(line).toBe(
      `${AT}  warning              org-daily; used=85% [org=acme team=search user=alice]`,
    );
  });

  it('adds only the dimensions a rejection message leaves out', () => {
    const line = formatEvent({
      id: 'e2',
      timestamp: AT,
      type: 'rejection',
      message: 'budget "org-daily" for org "acme" exceeded: nothing left until the period resets',
      scope: TENANT,
      data: { reason: 'budget_exceeded' },
      actor: null,
    });

    expect(line).toBe(
      `${AT}  rejection            budget "org-daily" for org "acme" exceeded: nothing left ` +
        'until the period resets [team=search user=alice]',
    );
  });

  it('gives a kill switch its reason and expiry, and its admin once', () => {
    const line = formatEvent({
      id: 'e3',
      timestamp: AT,
      type: 'kill_switch_created',
      message: 'kill switch org=globex set by finance',
      scope: { org: 'globex' },
      data: { id: 'ks_1', reason: 'runaway agent', expires_at: '2026-12-05T00:00:00.000Z' },
      actor: 'finance',
    });

    expect(line).toBe(
      `${AT}  kill_switch_created  kill switch org=globex set by finance; reason: runaway agent; ` +
        'until 2026-12-05T00:00:00.000Z',
    );
  });

  it('names the admin of an event whose message does not', () => {
    const line = formatEvent({
      id: 'e4',
      timestamp: AT,
      type: 'budget_threshold',
      message: 'budget "org-daily" passed 50% (50 of 100 USD)',
      scope: {},
      actor: 'ops',
    });

    expect(line).toBe(
      `${AT}  budget_threshold     budget "org-daily" passed 50% (50 of 100 USD) (by ops)`,
    );
  });
});
