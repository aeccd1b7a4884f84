/**
 * Turns the store's per-item states into one admission: the most severe budget action, the
 * throttle delay, the warning and RateLimit headers of the tightest policy, shadow verdicts.
 */
import type { Reason } from '../errors.js';
import type { Pico } from '../money/money.js';
import { checkCostBudget, exceedsBudget, type BudgetState } from '../policy/cost-budget.js';
import {
  BUCKET_REASONS,
  BUCKET_WINDOW_SECONDS,
  type TokenBucketDecision,
} from '../policy/token-bucket.js';
import type { ReserveItem, ReserveResult } from '../store/store.js';
import {
  budgetFigures,
  budgetWarning,
  writeRateLimitHeaders,
  type PolicyFigures,
} from './headers.js';
import type { Applied, Bucket } from './prepared.js';
import type { Admission, Hold, Refusal } from './types.js';

/** One refusing policy, as a rejection reports it. */
type Candidate = {
  reason: Reason;
  retry: number;
  figures: PolicyFigures;
  budget?: string;
  refusal: Refusal;
};

const SEVERITY = { allow: 0, warn: 1, throttle: 2 } as const;

function bucketFigures(bucket: Bucket, decision: TokenBucketDecision): PolicyFigures {
  return {
    name: bucket.limit.name,
    quota: bucket.config.capacity,
    remaining: decision.remaining,
    windowSeconds: BUCKET_WINDOW_SECONDS[bucket.kind],
    resetSeconds: decision.resetSeconds,
  };
}

/** The rejection for a refused reserve: the refusing policy that clears last decides. */
export function rejectionOf(
  result: Extract<ReserveResult, { ok: false }>,
  items: readonly ReserveItem[],
  applied: readonly Applied[],
  nowMs: number,
): Admission {
  // Several policies may refuse; the client must wait for the one that clears last.
  let worst: Candidate | null = null;
  for (const index of result.rejected) {
    const item = items[index] as ReserveItem;
    const policy = applied[index] as Applied;
    let candidate: Candidate;
    if ('budget' in policy) {
      const { budget } = policy.budget;
      const state = result.states[index] as BudgetState;
      const asked = item.kind === 'budget' ? item.amount : 0n;
      const decision = checkCostBudget(state, budget, asked, policy.window, nowMs);
      // A refusing budget has a reject stage: the limit, or the threshold of a stage below
      // 100% (reaching it is refused). What the period can still hold is under that bound.
      const reject = budget.allStages.find((s) => s.do === 'reject');
      const whole =
        reject !== undefined && reject.at < 100 ? reject.thresholdPico : budget.limitPico;
      const left = whole - state.committed - state.reserved;
      candidate = {
        reason: 'budget_exceeded',
        retry: decision.retryAfterSeconds,
        budget: budget.name,
        figures: budgetFigures(
          budget.name,
          budget.limitPico,
          decision.remaining,
          policy.window.startMs,
          policy.window.endMs,
          nowMs,
        ),
        refusal: {
          kind: 'budget',
          name: budget.name,
          scopeKeys: Object.keys(budget.scope),
          askedPico: asked,
          leftPico: left > 0n ? left : 0n,
          wholePico: whole,
          limitPico: budget.limitPico,
          rejectAt: reject?.at ?? 100,
        },
      };
    } else {
      const decision = result.states[index] as TokenBucketDecision;
      const { bucket } = policy;
      candidate = {
        reason: BUCKET_REASONS[bucket.kind],
        retry: decision.retryAfterSeconds,
        figures: bucketFigures(bucket, decision),
        refusal: {
          kind: 'rate_limit',
          name: bucket.limit.name,
          scopeKeys: Object.keys(bucket.limit.scope),
          bucket: bucket.kind,
          asked: item.kind === 'bucket' ? item.cost : 0,
          capacity: bucket.config.capacity,
        },
      };
    }
    if (worst === null || candidate.retry > worst.retry) worst = candidate;
  }

  const headers: Record<string, string> = {};
  if (worst === null)
    return { allowed: false, reason: 'budget_exceeded', retryAfterSeconds: undefined, headers };
  writeRateLimitHeaders(headers, worst.figures);
  return {
    allowed: false,
    reason: worst.reason,
    retryAfterSeconds: worst.retry,
    headers,
    ...(worst.budget !== undefined ? { budget: worst.budget } : {}),
    refusal: worst.refusal,
  };
}

/** The admission for a successful reserve, with its hold. */
export function admissionOf(
  result: Extract<ReserveResult, { ok: true }>,
  items: readonly ReserveItem[],
  applied: readonly Applied[],
  nowMs: number,
  hold: Hold,
): Admission {
  let action: 'allow' | 'warn' | 'throttle' = 'allow';
  let delayMs = 0;
  let warnings = '';
  let streamLimitPico: Pico | null = null;
  let tightest: PolicyFigures | null = null;
  let tightestShare = Infinity;
  const shadowRejected: string[] = [];

  for (let i = 0; i < items.length; i++) {
    const item = items[i] as ReserveItem;
    const policy = applied[i] as Applied;
    if ('budget' in policy) {
      const { budget } = policy.budget;
      const state = result.states[i] as BudgetState;
      const amount = item.kind === 'budget' ? item.amount : 0n;
      if (budget.mode === 'shadow') {
        if (exceedsBudget(budget, state.committed + state.reserved + amount)) {
          shadowRejected.push(budget.name);
        }
        continue;
      }
      const decision = checkCostBudget(state, budget, amount, policy.window, nowMs);
      if (decision.action !== 'reject' && SEVERITY[decision.action] > SEVERITY[action]) {
        action = decision.action;
      }
      if (decision.delayMs > delayMs) delayMs = decision.delayMs;
      if (decision.stage !== null) {
        const entry = budgetWarning(budget.name, decision.utilizationAfter);
        warnings = warnings === '' ? entry : `${warnings}, ${entry}`;
      }
      if (budget.streams === 'cut' && budget.maxAfterPico !== null) {
        const left = budget.maxAfterPico - state.committed - state.reserved;
        if (streamLimitPico === null || left < streamLimitPico) streamLimitPico = left;
      }
      const share = 1 - decision.utilizationAfter;
      if (share < tightestShare) {
        tightestShare = share;
        tightest = budgetFigures(
          budget.name,
          budget.limitPico,
          decision.remaining,
          policy.window.startMs,
          policy.window.endMs,
          nowMs,
        );
      }
    } else {
      const decision = result.states[i] as TokenBucketDecision;
      const { limit, config } = policy.bucket;
      if (limit.mode === 'shadow') {
        if (!decision.allowed && !shadowRejected.includes(limit.name)) {
          shadowRejected.push(limit.name);
        }
        continue;
      }
      const share = decision.remaining / config.capacity;
      if (share < tightestShare) {
        tightestShare = share;
        tightest = bucketFigures(policy.bucket, decision);
      }
    }
  }

  const headers: Record<string, string> = {};
  if (tightest !== null) writeRateLimitHeaders(headers, tightest);
  if (warnings !== '') headers['x-spendgate-budget-warning'] = warnings;
  return {
    allowed: true,
    action,
    delayMs,
    headers,
    shadowRejected,
    streamLimitPico,
    hold,
  };
}
