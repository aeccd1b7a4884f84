/**
 * The `GET /api/v1/budgets` data: each current-period budget instance with its spend, stage,
 * reset time, a projected exhaustion time from the period's spend rate so far, and when this
 * gateway last saw it refuse a request.
 */
import { picoToNumber } from '../money/money.js';
import { stageReached, utilizationOf } from '../policy/cost-budget.js';
import { isInstanceOf, scopeValues } from '../policy/scope.js';
import type { InstanceSnapshot } from '../store/store.js';
import { parseBudgetKey } from './keys.js';
import type { PreparedBudget } from './prepared.js';
import { RECENT_REFUSAL_MS, type RefusalLog } from './refusals.js';

/** One budget instance as the admin API reports it. */
export type BudgetView = {
  readonly name: string;
  readonly scope: Record<string, string>;
  readonly mode: 'enforce' | 'shadow';
  /** Committed spend this period. */
  readonly spent_usd: number;
  /** Reserved by requests in flight. */
  readonly reserved_usd: number;
  readonly limit_usd: number;
  /** (committed + reserved) / limit, as a fraction. */
  readonly utilization: number;
  /**
   * The stage utilization has reached, or `reject` while the instance refused a request at this
   * gateway in the last {@link RECENT_REFUSAL_MS} (a reservation larger than what is left).
   */
  readonly stage: 'ok' | 'warn' | 'throttle' | 'reject';
  readonly resets_at: string;
  /** When the spend rate so far would use the rest of the limit; null when not this period. */
  readonly projected_exhaustion: string | null;
  /** This gateway's most recent refusal by the instance this period; null when none. */
  readonly last_rejection_at: string | null;
};

function projectExhaustion(
  snapshot: InstanceSnapshot,
  limit: bigint,
  startMs: number,
  endMs: number,
  nowMs: number,
): string | null {
  const left = limit - snapshot.committed - snapshot.reserved;
  if (left <= 0n) return new Date(nowMs).toISOString();
  const elapsed = nowMs - startMs;
  if (snapshot.committed <= 0n || elapsed <= 0) return null;

  // Remaining / rate, in bigint so large limits and tiny rates stay exact enough.
  const msToGo = (left * BigInt(elapsed)) / snapshot.committed;
  const at = nowMs + Number(msToGo);
  return at < endMs ? new Date(at).toISOString() : null;
}

/**
 * The store's instances, and those that only refused: an instance whose first request alone was
 * over its limit reserved nothing, so the store never held it, but it is refusing requests.
 */
function withRefusedOnly(
  snapshots: readonly InstanceSnapshot[],
  refusals: RefusalLog | undefined,
  nowMs: number,
): readonly InstanceSnapshot[] {
  if (refusals === undefined) return snapshots;
  const held = new Set(snapshots.map((snapshot) => snapshot.key));
  const refusedOnly = refusals
    .instances(nowMs)
    .filter((key) => !held.has(key))
    .map((key) => ({ key, committed: 0n, reserved: 0n }));
  return refusedOnly.length === 0 ? snapshots : [...snapshots, ...refusedOnly];
}

/**
 * Builds the view from a store snapshot, keeping only instances of the live period; `refusals`
 * gives each one's latest refusal at this gateway.
 */
export function buildBudgetsView(
  snapshots: readonly InstanceSnapshot[],
  budgets: ReadonlyMap<string, PreparedBudget>,
  nowMs: number,
  refusals?: RefusalLog,
): BudgetView[] {
  const out: BudgetView[] = [];
  for (const snapshot of withRefusedOnly(snapshots, refusals, nowMs)) {
    const parsed = parseBudgetKey(snapshot.key);
    const prepared = parsed === null ? undefined : budgets.get(parsed.name);
    if (parsed === null || prepared === undefined) continue;
    const { budget } = prepared;
    const window = budget.window(nowMs);
    if (parsed.startMs !== window.startMs) continue;
    // Counters of the budget's scope before a reload changed it are not instances of it now.
    if (!isInstanceOf(budget.matcher, parsed.values)) continue;

    const used = snapshot.committed + snapshot.reserved;
    const refusedAtMs = refusals?.lastAt(snapshot.key, nowMs);
    const refusedLately = refusedAtMs !== undefined && nowMs - refusedAtMs < RECENT_REFUSAL_MS;
    const reject = refusedLately || (budget.maxAfterPico !== null && used >= budget.maxAfterPico);
    const stage = reject ? 'reject' : (stageReached(budget.stages, used)?.do ?? 'ok');
    out.push({
      name: budget.name,
      scope: scopeValues(budget.matcher.keys, parsed.values),
      mode: budget.mode,
      spent_usd: picoToNumber(snapshot.committed),
      reserved_usd: picoToNumber(snapshot.reserved),
      limit_usd: budget.limitUsd,
      utilization: utilizationOf(used, budget.limitPico),
      stage: stage === 'reject' ? 'reject' : stage,
      resets_at: new Date(window.endMs).toISOString(),
      projected_exhaustion: projectExhaustion(
        snapshot,
        budget.limitPico,
        window.startMs,
        window.endMs,
        nowMs,
      ),
      last_rejection_at: refusedAtMs === undefined ? null : new Date(refusedAtMs).toISOString(),
    });
  }
  refusals?.forgetEnded(nowMs);
  return out.sort((a, b) => b.utilization - a.utilization || a.name.localeCompare(b.name));
}
