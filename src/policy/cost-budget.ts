/**
 * The cost-budget decision for one budget instance: pure arithmetic over its counters, so the
 * memory store, a Redis script and tests all agree on it.
 */
import type { Pico } from '../money/money.js';
import type { PeriodWindow } from './period.js';
import type { Budget, BudgetStage } from './schema.js';

/** The counters of one budget instance in one period. */
export type BudgetState = { committed: Pico; reserved: Pico };

/** What a budget instance says about one request's reservation. */
export type CostBudgetDecision = {
  readonly action: 'allow' | 'warn' | 'throttle' | 'reject';
  /** (committed + reserved + this reservation) / limit, as a fraction. */
  readonly utilizationAfter: number;
  readonly delayMs: number;
  /** Whole seconds to the end of the period, rounded up. */
  readonly retryAfterSeconds: number;
  /** Money left under the limit after this request (before it, when rejected); never negative. */
  readonly remaining: Pico;
  /** The warn or throttle stage reached, or null. */
  readonly stage: BudgetStage | null;
};

const FRACTION_SCALE = 1_000_000n;

/** `amount / limit` as a fraction with six decimals. */
export function utilizationOf(amount: Pico, limit: Pico): number {
  return Number((amount * FRACTION_SCALE) / limit) / 1_000_000;
}

/** The highest warn or throttle stage whose threshold `amount` reaches, or null. */
export function stageReached(stages: readonly BudgetStage[], amount: Pico): BudgetStage | null {
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i] as BudgetStage;
    if (amount >= stage.thresholdPico) return stage;
  }
  return null;
}

/** The throttle delay at a utilization fraction: low at the stage `at`, high at the band end. */
export function throttleDelayMs(stage: BudgetStage, utilization: number): number {
  const width = stage.bandEndAt - stage.at;
  if (width <= 0) return stage.delayHighMs;
  const share = Math.min(1, Math.max(0, (utilization * 100 - stage.at) / width));
  return Math.round(stage.delayLowMs + (stage.delayHighMs - stage.delayLowMs) * share);
}

/** Whether `amount` of committed + reserved spend is more than the budget lets a request leave. */
export function exceedsBudget(budget: Budget, amount: Pico): boolean {
  return budget.maxAfterPico !== null && amount > budget.maxAfterPico;
}

/**
 * Decides one reservation against one budget instance. SPEC: rejected when committed + reserved +
 * this reservation would pass the limit; warn and throttle use the utilization after it.
 */
export function checkCostBudget(
  state: BudgetState,
  budget: Budget,
  reservation: Pico,
  window: PeriodWindow,
  nowMs: number,
): CostBudgetDecision {
  const before = state.committed + state.reserved;
  const after = before + reservation;
  const utilizationAfter = utilizationOf(after, budget.limitPico);
  const retryAfterSeconds = Math.max(1, Math.ceil((window.endMs - nowMs) / 1000));

  if (exceedsBudget(budget, after)) {
    const left = budget.limitPico - before;
    return {
      action: 'reject',
      utilizationAfter,
      delayMs: 0,
      retryAfterSeconds,
      remaining: left > 0n ? left : 0n,
      stage: null,
    };
  }

  const stage = stageReached(budget.stages, after);
  const left = budget.limitPico - after;
  return {
    action: stage === null ? 'allow' : stage.do === 'throttle' ? 'throttle' : 'warn',
    utilizationAfter,
    delayMs:
      stage !== null && stage.do === 'throttle' ? throttleDelayMs(stage, utilizationAfter) : 0,
    retryAfterSeconds,
    remaining: left > 0n ? left : 0n,
    stage,
  };
}
