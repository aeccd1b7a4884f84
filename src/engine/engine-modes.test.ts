import { describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { usdToPico } from '../money/money.js';
import {
  budgetsSchema,
  rateLimitsSchema,
  type BudgetConfig,
  type RateLimitConfig,
} from '../policy/schema.js';
import { MemoryStore } from '../store/memory.js';
import { StoreUnavailableError, type CounterStore } from '../store/store.js';
import { capturingLogger } from '../../test/support/log-capture.js';
import { createEnforcer, type Admission, type EnforcerEvent } from './engine.js';

const NOON = Date.parse('2026-05-10T12:00:00Z');
const dims = { org: 'acme', team: 't1', user: 'u1' };
const usd = (v: string) => usdToPico(v);
const daily = { name: 'org-daily', scope: { org: '*' }, limit_usd: 100, period: '1d' as const };

function setup(
  budgets: BudgetConfig[],
  rateLimits: RateLimitConfig[] = [],
  store: CounterStore = new MemoryStore(),
  onStoreDown: 'fail_open' | 'fail_closed' = 'fail_open',
) {
  const clock = fakeClock(NOON);
  const events: EnforcerEvent[] = [];
  const log = capturingLogger();
  const enforcer = createEnforcer({
    budgets: budgetsSchema.parse(budgets),
    rateLimits: rateLimitsSchema.parse(rateLimits),
    store,
    clock,
    onEvent: (e) => events.push(e),
    onStoreDown,
    logger: log.logger,
  });
  return { enforcer, clock, events, log };
}

function allowed(a: Admission): Extract<Admission, { allowed: true }> {
  if (!a.allowed) throw new Error(`rejected: ${a.reason}`);
  return a;
}

describe('enforcer: shadow mode', () => {
  it('never rejects but reports the budget that would have', async () => {
    const { enforcer } = setup([{ ...daily, limit_usd: 1, mode: 'shadow' }]);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('2'), tokens: 1 }));

    expect(a.shadowRejected).toEqual(['org-daily']);
    expect(a.action).toBe('allow');
    expect(a.headers).toEqual({});
    expect(enforcer.appliesEnforcing(dims)).toBe(false);
  });

  it('reports a shadow rate limit that would have rejected', async () => {
    const { enforcer } = setup(
      [],
      [{ name: 'rpm', scope: { org: '*' }, requests_per_minute: 1, mode: 'shadow' }],
    );
    await enforcer.admit({ dims, costPico: 0n, tokens: 1 });

    const a = allowed(await enforcer.admit({ dims, costPico: 0n, tokens: 1 }));

    expect(a.shadowRejected).toEqual(['rpm']);
  });
});

describe('enforcer: rate limits', () => {
  const tpm = { name: 'org-tpm', scope: { org: '*' }, tokens_per_minute: 10_000 };

  it('rejects with tpm_exceeded and the seconds until the tokens refill', async () => {
    const { enforcer } = setup([], [tpm]);
    allowed(await enforcer.admit({ dims, costPico: 0n, tokens: 9_000 }));

    const a = await enforcer.admit({ dims, costPico: 0n, tokens: 4_000 });

    expect(a.allowed ? '' : a.reason).toBe('tpm_exceeded');
    expect(a.allowed ? 0 : a.retryAfterSeconds).toBe(18);
    expect(a.headers['ratelimit']).toBe('"org-tpm";r=1000;t=54');
  });

  it('refunds unused tokens at settle and refills with time', async () => {
    const { enforcer, clock } = setup([], [tpm]);
    const first = allowed(await enforcer.admit({ dims, costPico: 0n, tokens: 9_000 }));
    await first.hold.settle(0n, 1_000);

    const second = await enforcer.admit({ dims, costPico: 0n, tokens: 9_000 });
    clock.advance(60_000);
    const third = await enforcer.admit({ dims, costPico: 0n, tokens: 10_000 });

    expect(second.allowed).toBe(true);
    expect(third.allowed).toBe(true);
  });

  it('rejects with rpm_exceeded and tpd_exceeded', async () => {
    const { enforcer } = setup(
      [],
      [{ name: 'r', scope: {}, requests_per_minute: 1, tokens_per_day: 100 }],
    );
    await enforcer.admit({ dims, costPico: 0n, tokens: 1 });

    const rpm = await enforcer.admit({ dims, costPico: 0n, tokens: 1 });
    const tpd = await enforcer.admit({ dims: { org: 'x' }, costPico: 0n, tokens: 500 });

    expect(rpm.allowed ? '' : rpm.reason).toBe('rpm_exceeded');
    expect(tpd.allowed ? '' : tpd.reason).toBe('tpd_exceeded');
  });
});

describe('enforcer: holds', () => {
  it('releases a reservation once and ignores a second call', async () => {
    const { enforcer } = setup([{ ...daily, limit_usd: 1 }]);
    const a = allowed(await enforcer.admit({ dims, costPico: usd('0.6'), tokens: 1 }));

    await a.hold.release();
    await a.hold.release();
    await a.hold.settle(usd('0.6'), 1);
    const [view] = await enforcer.budgetsView(NOON);

    expect(view?.spent_usd).toBe(0);
    expect(view?.reserved_usd).toBe(0);
  });
});

describe('enforcer: alerts', () => {
  it('emits an alert once per instance and period when a settle crosses it', async () => {
    const { enforcer, events } = setup([
      {
        ...daily,
        alerts: [
          { at: 50, channels: ['finance'] },
          { at: 90, channels: ['oncall'] },
        ],
      },
    ]);

    for (const cost of ['30', '30', '10']) {
      const a = allowed(await enforcer.admit({ dims, costPico: usd(cost), tokens: 1 }));
      await a.hold.settle(usd(cost), 1);
    }

    expect(events).toEqual([
      {
        type: 'budget_alert',
        budget: 'org-daily',
        scope: { org: 'acme' },
        at: 50,
        channels: ['finance'],
        spentUsd: '60',
        limitUsd: '100',
        periodStartMs: Date.parse('2026-05-10T00:00:00Z'),
        atMs: NOON,
      },
    ]);
  });
});

describe('enforcer: budgets view', () => {
  it('reports spend, stage, reset and projected exhaustion', async () => {
    const { enforcer } = setup([
      {
        ...daily,
        actions: [
          { at: 50, do: 'warn' },
          { at: 100, do: 'reject' },
        ],
      },
    ]);
    await enforcer.seed([{ dims, costPico: usd('60'), atMs: NOON - 1 }], NOON);

    const view = await enforcer.budgetsView(NOON);

    expect(view).toEqual([
      {
        name: 'org-daily',
        scope: { org: 'acme' },
        mode: 'enforce',
        spent_usd: 60,
        reserved_usd: 0,
        limit_usd: 100,
        utilization: 0.6,
        stage: 'warn',
        resets_at: '2026-05-11T00:00:00.000Z',
        projected_exhaustion: '2026-05-10T20:00:00.000Z',
        last_rejection_at: null,
      },
    ]);
  });

  it('projects no exhaustion when the rate will not use the limit this period', async () => {
    const { enforcer } = setup([daily]);
    await enforcer.seed([{ dims, costPico: usd('25'), atMs: NOON - 1 }], NOON);

    const [view] = await enforcer.budgetsView(NOON);

    expect(view?.projected_exhaustion).toBeNull();
    expect(view?.stage).toBe('ok');
  });

  it('asks for ledger rows from the earliest live period start', () => {
    const { enforcer } = setup([daily, { ...daily, name: 'month', period: 'month' }]);

    expect(new Date(enforcer.seedSinceMs(NOON)).toISOString()).toBe('2026-05-01T00:00:00.000Z');
  });

  it("leaves out last period's instances and rows", async () => {
    const { enforcer } = setup([daily]);
    await enforcer.seed([{ dims, costPico: usd('25'), atMs: NOON - 86_400_000 }], NOON);
    await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 });

    const view = await enforcer.budgetsView(NOON + 86_400_000);

    expect(view).toEqual([]);
  });
});

describe('enforcer: kill switches', () => {
  it('rejects a blocked value until the switch expires', async () => {
    const { enforcer, clock } = setup([]);
    enforcer.setKillSwitches([
      { id: 'k', dimension: 'org', value: 'acme', expires_at: NOON + 5_000, created_by: 'ops' },
    ]);

    const blocked = await enforcer.admit({ dims, costPico: 0n, tokens: 1 });
    clock.advance(5_000);
    const later = await enforcer.admit({ dims, costPico: 0n, tokens: 1 });

    expect(blocked).toEqual({
      allowed: false,
      reason: 'kill_switch',
      retryAfterSeconds: 5,
      headers: {},
      refusal: {
        kind: 'kill_switch',
        dimension: 'org',
        value: 'acme',
        reason: null,
        expiresAtMs: NOON + 5_000,
      },
    });
    expect(later.allowed).toBe(true);
  });
});

/** A store whose every write fails with `err`. */
function failingStore(err: Error): CounterStore {
  return {
    reserve: () => Promise.reject(err),
    commit: () => Promise.reject(err),
    release: () => Promise.reject(err),
    snapshot: () => Promise.resolve([]),
    seed: () => Promise.resolve(),
    sweep: () => Promise.resolve(0),
  };
}

describe('enforcer: store outage', () => {
  const broken = failingStore(new StoreUnavailableError('the counter store did not answer'));

  it('fails open with the flag set', async () => {
    const { enforcer } = setup([daily], [], broken);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 }));

    expect(a.failOpen).toBe('store_unavailable');
  });

  it('fails closed with store_unavailable', async () => {
    const { enforcer } = setup([daily], [], broken, 'fail_closed');

    const a = await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 });

    expect(a.allowed ? '' : a.reason).toBe('store_unavailable');
  });
});

describe('enforcer: a store error that is not an outage', () => {
  const buggy = failingStore(new TypeError("Cannot read properties of undefined (reading 'n')"));

  it('refuses with store_unavailable under fail_open instead of serving with no hold', async () => {
    const { enforcer } = setup([daily], [], buggy, 'fail_open');

    const a = await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 });

    expect(a.allowed ? '' : a.reason).toBe('store_unavailable');
  });

  it('refuses with store_unavailable under fail_closed', async () => {
    const { enforcer } = setup([daily], [], buggy, 'fail_closed');

    const a = await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 });

    expect(a.allowed ? '' : a.reason).toBe('store_unavailable');
  });

  it('logs enforcement.failed at error level with the error', async () => {
    const { enforcer, log } = setup([daily], [], buggy);

    await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 });

    expect(log.lines.map((l) => [l.event, l.level, l.err])).toEqual([
      ['enforcement.failed', 50, "Cannot read properties of undefined (reading 'n')"],
    ]);
  });

  it('logs nothing for an outage: the store reports those itself', async () => {
    const { enforcer, log } = setup(
      [daily],
      [],
      failingStore(new StoreUnavailableError('the counter store did not answer')),
    );

    await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 });

    expect(log.lines).toEqual([]);
  });
});
