import { describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { roundMicroPico, tokensTimesRate, usdToPico, picoToDecimal } from '../money/money.js';
import {
  budgetsSchema,
  rateLimitsSchema,
  type BudgetConfig,
  type RateLimitConfig,
} from '../policy/schema.js';
import { MemoryStore } from '../store/memory.js';
import type { CounterStore } from '../store/store.js';
import { createEnforcer, type Admission, type EnforcerEvent } from './engine.js';

const NOON = Date.parse('2026-05-10T12:00:00Z');
const dims = {
  org: 'acme',
  team: 't1',
  user: 'u1',
  endpoint: '/chat',
  model: 'gpt-4o',
  key: 'key_demo',
};

const stages = [
  { at: 80, do: 'warn' as const },
  { at: 95, do: 'throttle' as const, delay_ms: [200, 500] as [number, number] },
  { at: 100, do: 'reject' as const },
];

function setup(budgets: BudgetConfig[], rateLimits: RateLimitConfig[] = [], store?: CounterStore) {
  const clock = fakeClock(NOON);
  const events: EnforcerEvent[] = [];
  const counters = store ?? new MemoryStore();
  const enforcer = createEnforcer({
    budgets: budgetsSchema.parse(budgets),
    rateLimits: rateLimitsSchema.parse(rateLimits),
    store: counters,
    clock,
    onEvent: (e) => events.push(e),
  });
  return { enforcer, clock, events, store: counters };
}

const orgDaily: BudgetConfig = {
  name: 'org-daily',
  scope: { org: '*' },
  limit_usd: 100,
  period: '1d',
  actions: stages,
};

function allowed(a: Admission): Extract<Admission, { allowed: true }> {
  if (!a.allowed) throw new Error(`rejected: ${a.reason}`);
  return a;
}

const usd = (v: string) => usdToPico(v);

describe('enforcer: stages and headers', () => {
  it('allows with the rate-limit headers of the budget', async () => {
    const { enforcer } = setup([orgDaily]);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 100 }));

    expect(a.action).toBe('allow');
    expect(a.headers).toEqual({
      'ratelimit-policy': '"org-daily";q=100000000;w=86400',
      ratelimit: '"org-daily";r=99000000;t=43200',
    });
  });

  it('adds the warning header at the warn stage', async () => {
    const { enforcer } = setup([orgDaily]);
    await enforcer.seed([{ dims, costPico: usd('85'), atMs: NOON - 1 }], NOON);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 100 }));

    expect(a.action).toBe('warn');
    expect(a.delayMs).toBe(0);
    expect(a.headers['x-spendgate-budget-warning']).toBe('org-daily; used=86%');
    expect(a.headers['ratelimit']).toBe('"org-daily";r=14000000;t=43200');
  });

  it('throttles with a delay from the band and keeps warning', async () => {
    const { enforcer } = setup([orgDaily]);
    await enforcer.seed([{ dims, costPico: usd('97'), atMs: NOON }], NOON);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('0.5'), tokens: 100 }));

    expect(a.action).toBe('throttle');
    expect(a.delayMs).toBe(350);
    expect(a.headers['x-spendgate-budget-warning']).toBe('org-daily; used=97.5%');
  });

  it('rejects with the budget, its reason and seconds to the period end', async () => {
    const { enforcer } = setup([orgDaily]);
    await enforcer.seed([{ dims, costPico: usd('99.5'), atMs: NOON }], NOON);

    const a = await enforcer.admit({ dims, costPico: usd('1'), tokens: 100 });

    expect(a).toEqual({
      allowed: false,
      reason: 'budget_exceeded',
      retryAfterSeconds: 43200,
      budget: 'org-daily',
      headers: {
        'ratelimit-policy': '"org-daily";q=100000000;w=86400',
        ratelimit: '"org-daily";r=500000;t=43200',
      },
      // $1 asked, $0.50 left of $100: the figures the rejection message gives.
      refusal: {
        kind: 'budget',
        name: 'org-daily',
        scopeKeys: ['org'],
        askedPico: usd('1'),
        leftPico: usd('0.5'),
        wholePico: usd('100'),
        limitPico: usd('100'),
        rejectAt: 100,
      },
    });
  });

  it('lets the most severe action win and joins the warnings', async () => {
    const teamMonth = {
      ...orgDaily,
      name: 'team-month',
      scope: { team: '*' },
      period: 'month' as const,
    };
    const { enforcer } = setup([orgDaily, teamMonth]);
    await enforcer.seed([{ dims, costPico: usd('85'), atMs: NOON }], NOON);
    await enforcer.seed([{ dims: { team: 't1' }, costPico: usd('96'), atMs: NOON }], NOON);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 100 }));

    expect(a.action).toBe('throttle');
    expect(a.delayMs).toBe(320);
    expect(a.headers['x-spendgate-budget-warning']).toBe(
      'org-daily; used=86%, team-month; used=97%',
    );
    expect(a.headers['ratelimit-policy']).toBe('"team-month";q=100000000;w=2678400');
  });

  it('shows the token limit when it has the least remaining share', async () => {
    const { enforcer } = setup(
      [orgDaily],
      [{ name: 'org-tpm', scope: { org: '*' }, tokens_per_minute: 60000 }],
    );

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 55000 }));

    expect(a.headers).toEqual({
      'ratelimit-policy': '"org-tpm";q=60000;w=60',
      ratelimit: '"org-tpm";r=5000;t=55',
    });
  });

  it('does nothing for a request no policy applies to', async () => {
    const { enforcer } = setup([{ ...orgDaily, scope: { org: 'other' } }]);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 }));

    expect(a.headers).toEqual({});
    expect(a.streamLimitPico).toBeNull();
    expect(enforcer.appliesEnforcing(dims)).toBe(false);
  });
});

describe('enforcer: all-or-nothing', () => {
  it('charges the first budget nothing when a second rejects', async () => {
    const userHour = {
      name: 'user-hour',
      scope: { user: '*' },
      limit_usd: 0.5,
      period: '1h' as const,
    };
    const { enforcer } = setup([orgDaily, userHour]);

    const a = await enforcer.admit({ dims, costPico: usd('1'), tokens: 100 });
    const view = await enforcer.budgetsView(NOON);

    expect(a.allowed).toBe(false);
    expect(a.allowed ? null : a.budget).toBe('user-hour');
    // org-daily holds nothing; user-hour is listed for its refusal, with nothing spent.
    expect(view.map((b) => [b.name, b.spent_usd, b.reserved_usd, b.stage])).toEqual([
      ['user-hour', 0, 0, 'reject'],
    ]);
  });

  it('never lets 100 concurrent requests reserve past the limit', async () => {
    const { enforcer, store } = setup([{ ...orgDaily, actions: undefined, limit_usd: 1 }]);

    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        enforcer.admit({ dims, costPico: usd('0.095'), tokens: 1 }),
      ),
    );
    const snapshot = await store.snapshot();

    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(snapshot.map((s) => picoToDecimal(s.reserved))).toEqual(['0.95']);
  });
});

describe('enforcer: case 12, concurrent requests against a hard budget', () => {
  it('admits one of five, settles exactly and rejects a sixth', async () => {
    const budget = {
      name: 'key-month',
      scope: { key: 'key_demo' },
      limit_usd: 1,
      period: 'month' as const,
    };
    const { enforcer } = setup([budget]);
    await enforcer.seed([{ dims, costPico: usd('0.90'), atMs: NOON - 1000 }], NOON);
    const rates = { input: usd('2.50'), output: usd('10') };
    const reserve = roundMicroPico(
      tokensTimesRate(20, rates.input) + tokensTimesRate(8000, rates.output),
    );

    const burst = await Promise.all(
      Array.from({ length: 5 }, () => enforcer.admit({ dims, costPico: reserve, tokens: 8020 })),
    );
    const winners = burst.filter((a) => a.allowed);
    await allowed(winners[0] as Admission).hold.settle(usd('0.08005'), 8020);
    const sixth = await enforcer.admit({ dims, costPico: reserve, tokens: 8020 });
    const [view] = await enforcer.budgetsView(NOON);

    expect(picoToDecimal(reserve)).toBe('0.08005');
    expect(winners).toHaveLength(1);
    expect(burst.filter((a) => !a.allowed).map((a) => (a.allowed ? '' : a.reason))).toEqual([
      'budget_exceeded',
      'budget_exceeded',
      'budget_exceeded',
      'budget_exceeded',
    ]);
    expect(view?.spent_usd).toBe(0.98005);
    expect(view?.reserved_usd).toBe(0);
    expect(sixth.allowed).toBe(false);
  });
});

describe('enforcer: case 13, streamed requests count against the budget', () => {
  it('admits the first stream, charges it exactly and rejects the second', async () => {
    const budget = {
      name: 'team',
      scope: { team: 't-research' },
      limit_usd: 0.1,
      period: 'month' as const,
    };
    const { enforcer } = setup([budget]);
    const team = { ...dims, team: 't-research', model: 'claude-sonnet-4-5' };
    const reserve = roundMicroPico(
      tokensTimesRate(12, usd('3')) + tokensTimesRate(4000, usd('15')),
    );

    const first = allowed(await enforcer.admit({ dims: team, costPico: reserve, tokens: 4012 }));
    await first.hold.settle(reserve, 4012);
    const second = await enforcer.admit({ dims: team, costPico: reserve, tokens: 4012 });
    const [view] = await enforcer.budgetsView(NOON);

    expect(picoToDecimal(reserve)).toBe('0.060036');
    expect(first.streamLimitPico).toBe(usd('0.1'));
    expect(view?.spent_usd).toBe(0.060036);
    expect(second.allowed ? '' : second.reason).toBe('budget_exceeded');
  });

  it('gives no stream limit for a budget that lets streams finish', async () => {
    const { enforcer } = setup([{ ...orgDaily, streams: 'finish' }]);

    const a = allowed(await enforcer.admit({ dims, costPico: usd('1'), tokens: 1 }));

    expect(a.streamLimitPico).toBeNull();
  });
});
