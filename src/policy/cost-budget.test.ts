import { describe, expect, it } from 'vitest';
import { usdToPico } from '../money/money.js';
import { checkCostBudget } from './cost-budget.js';
import { ORG_DAILY } from './budget.fixture.js';
import { budgetsSchema, type BudgetConfig } from './schema.js';

const window = { startMs: 0, endMs: 86_400_000 };

function budget(extra: Partial<BudgetConfig> = {}) {
  const [b] = budgetsSchema.parse([{ ...ORG_DAILY, ...extra }]);
  if (b === undefined) throw new Error('no budget');
  return b;
}

const spent = (usd: string) => ({ committed: usdToPico(usd), reserved: 0n });

describe('cost budget: stages', () => {
  it('allows below the first stage', () => {
    const d = checkCostBudget(spent('70'), budget(), usdToPico('1'), window, 0);

    expect(d.action).toBe('allow');
    expect(d.remaining).toBe(usdToPico('29'));
    expect(d.utilizationAfter).toBe(0.71);
  });

  it('warns from the utilization after the reservation', () => {
    const d = checkCostBudget(spent('79.5'), budget(), usdToPico('0.5'), window, 0);

    expect(d.action).toBe('warn');
    expect(d.delayMs).toBe(0);
  });

  it('counts reserved money as used', () => {
    const d = checkCostBudget(
      { committed: usdToPico('50'), reserved: usdToPico('45') },
      budget(),
      usdToPico('0'),
      window,
      0,
    );

    expect(d.action).toBe('throttle');
  });

  it('allows a reservation that lands exactly on the limit', () => {
    const d = checkCostBudget(spent('99'), budget(), usdToPico('1'), window, 0);

    expect(d.action).toBe('throttle');
    expect(d.delayMs).toBe(500);
    expect(d.remaining).toBe(0n);
  });

  it('rejects a reservation that would pass the limit by one pico-dollar', () => {
    const d = checkCostBudget(spent('99'), budget(), usdToPico('1.000000000001'), window, 0);

    expect(d.action).toBe('reject');
    expect(d.remaining).toBe(usdToPico('1'));
  });

  it('rejects at a reject stage below 100 once utilization would reach it', () => {
    const b = budget({ actions: [{ at: 90, do: 'reject' }] });

    expect(checkCostBudget(spent('89'), b, usdToPico('0.999999'), window, 0).action).toBe('allow');
    expect(checkCostBudget(spent('89'), b, usdToPico('1'), window, 0).action).toBe('reject');
  });

  it('rejects at 100 percent when a budget has no actions', () => {
    const b = budget({ actions: undefined });

    expect(checkCostBudget(spent('99'), b, usdToPico('1'), window, 0).action).toBe('allow');
    expect(checkCostBudget(spent('99'), b, usdToPico('1.01'), window, 0).action).toBe('reject');
  });

  it('never rejects when the stages hold no reject', () => {
    const b = budget({ actions: [{ at: 80, do: 'warn' }] });

    expect(checkCostBudget(spent('150'), b, usdToPico('1'), window, 0).action).toBe('warn');
  });
});

describe('cost budget: throttle band', () => {
  it('delays the low end at the start of the band', () => {
    const d = checkCostBudget(spent('94'), budget(), usdToPico('1'), window, 0);

    expect(d.action).toBe('throttle');
    expect(d.delayMs).toBe(200);
  });

  it('delays halfway at the middle of the band', () => {
    const d = checkCostBudget(spent('97'), budget(), usdToPico('0.5'), window, 0);

    expect(d.delayMs).toBe(350);
  });

  it('delays the high end at the end of the band', () => {
    const d = checkCostBudget(spent('100'), budget(), 0n, window, 0);

    expect(d.delayMs).toBe(500);
  });

  it('ends a throttle band at the next stage', () => {
    const b = budget({
      actions: [
        { at: 50, do: 'throttle', delay_ms: [0, 1000] },
        { at: 60, do: 'warn' },
      ],
    });

    expect(checkCostBudget(spent('55'), b, 0n, window, 0).delayMs).toBe(500);
  });
});

describe('cost budget: retry-after', () => {
  it('gives whole seconds to the period end, rounded up', () => {
    const d = checkCostBudget(spent('100'), budget(), usdToPico('1'), window, 86_400_000 - 1_500);

    expect(d.action).toBe('reject');
    expect(d.retryAfterSeconds).toBe(2);
  });
});
