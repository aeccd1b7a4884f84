/**
 * The engine's per-policy precomputation, and the soft alert thresholds checked after a settle.
 */
import type { Pico } from '../money/money.js';
import { picoToDecimal } from '../money/money.js';
import type { BudgetState } from '../policy/cost-budget.js';
import type { PeriodWindow } from '../policy/period.js';
import type { Budget, RateLimit } from '../policy/schema.js';
import { scopeValues } from '../policy/scope.js';
import type { BucketKind, TokenBucketConfig } from '../policy/token-bucket.js';
import type { Reservation } from '../store/store.js';
import { parseBudgetKey } from './keys.js';

/** A budget with what the hot path derives from it once. */
export class PreparedBudget {
  readonly budget: Budget;
  readonly prefix: string;
  /** The store's reject bound: null for shadow budgets, which never block. */
  readonly maxAfter: Pico | null;

  constructor(budget: Budget, prefix: string) {
    this.budget = budget;
    this.prefix = prefix;
    this.maxAfter = budget.mode === 'enforce' ? budget.maxAfterPico : null;
  }
}

/** One bucket kind of one rate limit. */
export type Bucket = {
  readonly limit: RateLimit;
  readonly kind: BucketKind;
  readonly prefix: string;
  readonly config: TokenBucketConfig;
};

/** Which policy each reserved item belongs to, in item order. */
export type Applied =
  | { readonly budget: PreparedBudget; readonly window: PeriodWindow }
  | { readonly bucket: Bucket; readonly window: null };

/** A soft budget threshold crossed by a settle; fired once per instance and period. */
export type EnforcerEvent = {
  readonly type: 'budget_alert';
  readonly budget: string;
  readonly scope: Record<string, string>;
  /** The threshold crossed, in percent of the limit. */
  readonly at: number;
  readonly channels: readonly string[];
  readonly spentUsd: string;
  readonly limitUsd: string;
  readonly periodStartMs: number;
  readonly atMs: number;
};

/**
 * Emits an event for each alert threshold that this settle's committed spend crossed. Committed
 * spend only grows within a period, so a threshold is crossed once per instance and period, and
 * a restart that seeds spend above it does not fire it again.
 */
export function collectAlerts(
  applied: readonly Applied[],
  reservation: Reservation,
  after: readonly (BudgetState | null)[],
  costPico: Pico,
  onEvent: (event: EnforcerEvent) => void,
  nowMs: number,
): void {
  for (let i = 0; i < applied.length; i++) {
    const policy = applied[i] as Applied;
    const state = after[i];
    if (!('budget' in policy) || state == null || policy.budget.budget.alerts.length === 0) {
      continue;
    }
    const { budget } = policy.budget;
    const before = state.committed - costPico;
    for (const alert of budget.alerts) {
      if (before >= alert.thresholdPico || state.committed < alert.thresholdPico) continue;
      const parsed = parseBudgetKey(reservation.items[i]?.key ?? '');
      onEvent({
        type: 'budget_alert',
        budget: budget.name,
        scope: scopeValues(budget.matcher.keys, parsed?.values ?? ''),
        at: alert.at,
        channels: alert.channels,
        spentUsd: picoToDecimal(state.committed),
        limitUsd: picoToDecimal(budget.limitPico),
        periodStartMs: policy.window.startMs,
        atMs: nowMs,
      });
    }
  }
}
