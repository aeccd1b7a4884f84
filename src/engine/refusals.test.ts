import { describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { usdToPico } from '../money/money.js';
import { ORG_DAILY } from '../policy/budget.fixture.js';
import { budgetsSchema, type BudgetConfig } from '../policy/schema.js';
import { MemoryStore } from '../store/memory.js';
import { createEnforcer, RefusalLog } from './engine.js';

const NOON = Date.parse('2026-05-10T12:00:00Z');
const NEXT_DAY = Date.parse('2026-05-11T00:00:00Z');
const acme = { org: 'acme', user: 'u1' };
const globex = { org: 'globex', user: 'u2' };
const usd = (v: string) => usdToPico(v);

const orgDaily = ORG_DAILY;

function setup(budgets: BudgetConfig[], refusals?: RefusalLog, store = new MemoryStore()) {
  const clock = fakeClock(NOON);
  const enforcer = createEnforcer({
    budgets: budgetsSchema.parse(budgets),
    rateLimits: [],
    store,
    clock,
    refusals,
  });
  return { enforcer, clock, store };
}

describe('RefusalLog', () => {
  it('keeps the latest refusal of an instance until its period ends', () => {
    const log = new RefusalLog();

    log.record('a', 1_000, 10_000);
    log.record('a', 2_500, 10_000);

    expect(log.lastAt('a', 9_999)).toBe(2_500);
    expect(log.lastAt('b', 9_999)).toBeUndefined();
    expect(log.lastAt('a', 10_000)).toBeUndefined();
    expect(log.size).toBe(0);
  });

  it('never holds more than its cap, forgetting the oldest refusal first', () => {
    const log = new RefusalLog(3);

    log.record('a', 1, 1_000);
    log.record('b', 2, 1_000);
    log.record('c', 3, 1_000);
    log.record('a', 4, 1_000); // a is now the latest
    log.record('d', 5, 1_000);

    expect(log.size).toBe(3);
    expect(log.lastAt('b', 5)).toBeUndefined();
    expect([log.lastAt('c', 5), log.lastAt('a', 5), log.lastAt('d', 5)]).toEqual([3, 4, 5]);
  });

  it('makes room from instances whose period is over before forgetting live ones', () => {
    const log = new RefusalLog(2);

    log.record('ended', 1, 100);
    log.record('live', 2, 1_000);
    log.record('new', 200, 1_000);

    expect(log.size).toBe(2);
    expect(log.lastAt('live', 200)).toBe(2);
    expect(log.lastAt('new', 200)).toBe(200);
  });
});

describe('enforcer: recent refusals in the budgets view', () => {
  it('says reject while an instance below its reject stage refuses, then what utilization says', async () => {
    const { enforcer, clock } = setup([orgDaily]);
    await enforcer.seed([{ dims: acme, costPico: usd('97'), atMs: NOON }], NOON);
    clock.advance(1_234);

    // $5 asked, $3 left: refused at 97%, in the throttle band.
    const refused = await enforcer.admit({ dims: acme, costPico: usd('5'), tokens: 100 });
    const [during] = await enforcer.budgetsView(clock.now());
    clock.advance(59_999);
    const [lastMs] = await enforcer.budgetsView(clock.now());
    clock.advance(1);
    const [after] = await enforcer.budgetsView(clock.now());

    expect(refused.allowed ? '' : refused.reason).toBe('budget_exceeded');
    expect(during).toMatchObject({
      utilization: 0.97,
      stage: 'reject',
      last_rejection_at: '2026-05-10T12:00:01.234Z',
    });
    expect(lastMs?.stage).toBe('reject');
    expect(after).toMatchObject({
      utilization: 0.97,
      stage: 'throttle',
      last_rejection_at: '2026-05-10T12:00:01.234Z',
    });
  });

  it('lists an instance whose first request alone was over its limit, with nothing spent', async () => {
    const { enforcer, clock } = setup([orgDaily]);

    // Nothing charged yet today, and $150 asked of a $100 budget: refused, nothing reserved.
    const refused = await enforcer.admit({ dims: acme, costPico: usd('150'), tokens: 1 });
    const [during] = await enforcer.budgetsView(clock.now());
    clock.advance(60_000);
    const later = await enforcer.budgetsView(clock.now());

    expect(refused.allowed ? '' : refused.reason).toBe('budget_exceeded');
    expect(during).toMatchObject({
      name: 'org-daily',
      scope: { org: 'acme' },
      spent_usd: 0,
      reserved_usd: 0,
      utilization: 0,
      stage: 'reject',
      resets_at: '2026-05-11T00:00:00.000Z',
      last_rejection_at: '2026-05-10T12:00:00.000Z',
    });
    expect(later.map((b) => [b.scope.org, b.stage, b.last_rejection_at])).toEqual([
      ['acme', 'ok', '2026-05-10T12:00:00.000Z'],
    ]);
  });

  it('reports the latest refusal, and null for an instance that never refused', async () => {
    const { enforcer, clock } = setup([orgDaily]);
    await enforcer.seed(
      [
        { dims: acme, costPico: usd('90'), atMs: NOON },
        { dims: globex, costPico: usd('90'), atMs: NOON },
      ],
      NOON,
    );

    await enforcer.admit({ dims: acme, costPico: usd('20'), tokens: 1 });
    clock.advance(30_000);
    await enforcer.admit({ dims: acme, costPico: usd('20'), tokens: 1 });
    const served = await enforcer.admit({ dims: globex, costPico: usd('1'), tokens: 1 });
    const view = await enforcer.budgetsView(clock.now());

    expect(served.allowed).toBe(true);
    expect(view.map((b) => [b.scope.org, b.stage, b.last_rejection_at])).toEqual([
      ['globex', 'warn', null],
      ['acme', 'reject', '2026-05-10T12:00:30.000Z'],
    ]);
  });

  it('marks only the budget that refused when another applies to the same request', async () => {
    const userHour: BudgetConfig = {
      name: 'user-hour',
      scope: { user: '*' },
      limit_usd: 0.5,
      period: '1h',
    };
    const { enforcer } = setup([orgDaily, userHour]);
    await enforcer.seed(
      [
        { dims: acme, costPico: usd('10'), atMs: NOON },
        { dims: acme, costPico: usd('0.25'), atMs: NOON },
      ],
      NOON,
    );

    const refused = await enforcer.admit({ dims: acme, costPico: usd('1'), tokens: 1 });
    const view = await enforcer.budgetsView(NOON);

    expect(refused.allowed ? null : refused.budget).toBe('user-hour');
    expect(view.map((b) => [b.name, b.stage, b.last_rejection_at])).toEqual([
      ['user-hour', 'reject', '2026-05-10T12:00:00.000Z'],
      ['org-daily', 'ok', null],
    ]);
  });

  it('forgets a refusal when its period is over', async () => {
    const { enforcer, clock } = setup([orgDaily]);
    await enforcer.seed([{ dims: acme, costPico: usd('99'), atMs: NOON }], NOON);
    await enforcer.admit({ dims: acme, costPico: usd('2'), tokens: 1 });

    clock.set(NEXT_DAY);
    await enforcer.admit({ dims: acme, costPico: usd('1'), tokens: 1 });
    const view = await enforcer.budgetsView(NEXT_DAY);

    expect(view.map((b) => [b.utilization, b.stage, b.last_rejection_at])).toEqual([
      [0.01, 'ok', null],
    ]);
  });

  it('keeps refusals across a reload when the new engine gets the same log', async () => {
    const refusals = new RefusalLog();
    const store = new MemoryStore();
    const before = setup([orgDaily], refusals, store);
    await before.enforcer.seed([{ dims: acme, costPico: usd('97'), atMs: NOON }], NOON);
    await before.enforcer.admit({ dims: acme, costPico: usd('5'), tokens: 1 });

    const after = setup([{ ...orgDaily, streams: 'finish' }], refusals, store);
    const [view] = await after.enforcer.budgetsView(NOON);

    expect(view).toMatchObject({ stage: 'reject', last_rejection_at: '2026-05-10T12:00:00.000Z' });
  });

  it('never marks a shadow budget, which refuses nothing', async () => {
    const { enforcer } = setup([{ ...orgDaily, mode: 'shadow' }]);
    await enforcer.seed([{ dims: acme, costPico: usd('97'), atMs: NOON }], NOON);

    const served = await enforcer.admit({ dims: acme, costPico: usd('5'), tokens: 1 });
    const [view] = await enforcer.budgetsView(NOON);

    expect(served.allowed).toBe(true);
    expect(view).toMatchObject({ stage: 'reject', last_rejection_at: null });
  });
});
