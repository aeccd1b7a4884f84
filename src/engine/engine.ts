/**
 * The enforcement engine: finds every budget and rate limit that applies to a request, reserves
 * its worst-case cost and tokens in one atomic store call, and turns the per-policy decisions
 * into one admission (the most severe action wins) with its headers and a hold to settle.
 */
import type { Clock } from '../clock.js';
import type { Pico } from '../money/money.js';
import { killSwitchRetryAfter, matchKillSwitch, type KillSwitch } from '../policy/kill-switch.js';
import type { Budget, RateLimit } from '../policy/schema.js';
import type { RequestDims } from '../policy/scope.js';
import { BUCKET_WINDOW_SECONDS, bucketConfig, type BucketKind } from '../policy/token-bucket.js';
import type { Logger } from '../log/logger.js';
import {
  StoreUnavailableError,
  type CounterStore,
  type Reservation,
  type ReserveItem,
  type ReserveResult,
} from '../store/store.js';
import { budgetInstanceKey, budgetKeyPrefix, bucketKeyPrefix } from './keys.js';
import { admissionOf, rejectionOf } from './outcome.js';
import {
  PreparedBudget,
  collectAlerts,
  type Applied,
  type Bucket,
  type EnforcerEvent,
} from './prepared.js';
import { RefusalLog } from './refusals.js';
import type { AdmitRequest, Admission, Hold } from './types.js';
import { buildBudgetsView, type BudgetView } from './view.js';

export type { EnforcerEvent } from './prepared.js';
export { RefusalLog } from './refusals.js';
export type { BudgetView } from './view.js';
export type { AdmitRequest, Admission, Hold } from './types.js';

/** What the engine is built from. */
export type EnforcerOptions = {
  readonly budgets: readonly Budget[];
  readonly rateLimits: readonly RateLimit[];
  readonly store: CounterStore;
  readonly clock: Clock;
  /** Receives alert events; called synchronously after the settle that crossed a threshold. */
  readonly onEvent?: (event: EnforcerEvent) => void;
  /** What to do when the store cannot answer. @default fail_open */
  readonly onStoreDown?: 'fail_open' | 'fail_closed';
  /** Where a store failure that is not an outage (a bug) is reported. */
  readonly logger?: Logger;
  /**
   * Where budget instances' refusals are noted for `GET /budgets`; pass the same log to the
   * engine a reload builds so they are not forgotten. @default a new, empty log
   */
  readonly refusals?: RefusalLog;
};

/** The engine that `createEnforcer` returns. */
export type Enforcer = {
  /** Reserves a request's worst case against every applicable policy, all or nothing. */
  admit(request: AdmitRequest): Promise<Admission>;
  /** Every current-period budget instance, the data of `GET /api/v1/budgets`. */
  budgetsView(nowMs: number): Promise<BudgetView[]>;
  /** Whether an enforce-mode budget applies to these dimensions. */
  appliesEnforcing(dims: RequestDims): boolean;
  /** Replaces the kill switches in force. */
  setKillSwitches(records: readonly KillSwitch[]): void;
  /** Rebuilds current-period spend from ledger rows (cost at admission time) at start. */
  seed(rows: Iterable<SeedRow> | AsyncIterable<SeedRow>, nowMs: number): Promise<void>;
  /** The earliest live period start: ledger rows before it cannot affect any budget. */
  seedSinceMs(nowMs: number): number;
};

/** One ledger row's contribution to budget state. */
export type SeedRow = {
  readonly dims: RequestDims;
  readonly costPico: Pico;
  readonly atMs: number;
  /** Input plus output tokens, to rebuild token buckets. */
  readonly tokens?: number;
};

/** Keys outlive their period by an hour so late settles still find their instance. */
const KEY_GRACE_MS = 3_600_000;

const NO_OP_HOLD: Hold = {
  settle: () => Promise.resolve(),
  release: () => Promise.resolve(),
  extend: () => Promise.resolve(true),
};

function bucketsOf(limit: RateLimit): Bucket[] {
  const out: Bucket[] = [];
  const add = (kind: BucketKind, value: number | null): void => {
    if (value === null) return;
    out.push({
      limit,
      kind,
      prefix: bucketKeyPrefix(limit.name, kind),
      config: bucketConfig(kind, value),
    });
  };
  add('tpm', limit.tokensPerMinute);
  add('tpd', limit.tokensPerDay);
  add('rpm', limit.requestsPerMinute);
  return out;
}

/** Builds the enforcement engine over prepared budgets, rate limits and a counter store. */
export function createEnforcer(options: EnforcerOptions): Enforcer {
  const { store, clock, onEvent, logger } = options;
  const failClosed = options.onStoreDown === 'fail_closed';
  const budgets = options.budgets.map((b) => new PreparedBudget(b, budgetKeyPrefix(b.name)));
  const buckets = options.rateLimits.flatMap(bucketsOf);
  const byName = new Map(budgets.map((b) => [b.budget.name, b]));
  const refusals = options.refusals ?? new RefusalLog();
  let killSwitches: readonly KillSwitch[] = [];

  function collect(dims: RequestDims, request: AdmitRequest, nowMs: number) {
    const items: ReserveItem[] = [];
    const applied: Applied[] = [];
    for (const prepared of budgets) {
      const values = prepared.budget.matcher.match(dims);
      if (values === null) continue;
      const window = prepared.budget.window(nowMs);
      items.push({
        kind: 'budget',
        key: budgetInstanceKey(prepared.prefix, window.startMs, values),
        amount: request.costPico,
        maxAfter: prepared.maxAfter,
        expiresAtMs: window.endMs + KEY_GRACE_MS,
      });
      applied.push({ budget: prepared, window });
    }
    for (const bucket of buckets) {
      const values = bucket.limit.matcher.match(dims);
      if (values === null) continue;
      items.push({
        kind: 'bucket',
        key: bucket.prefix + values,
        cost: bucket.kind === 'rpm' ? 1 : request.tokens,
        config: bucket.config,
        enforce: bucket.limit.mode === 'enforce',
      });
      applied.push({ bucket, window: null });
    }
    return { items, applied };
  }

  function makeHold(
    result: Extract<ReserveResult, { ok: true }>,
    applied: readonly Applied[],
  ): Hold {
    let done = false;
    // Extra reservations of a stream that ran past its first one; released at the end, when
    // the first reservation is committed at the actual cost.
    const topUps: Reservation[] = [];
    const releaseTopUps = (): Promise<unknown> =>
      Promise.all(topUps.map((r) => store.release(r, clock.now())));
    return {
      settle: async (actualCostPico, actualTokens) => {
        if (done) return;
        done = true;
        const actual = applied.map((policy) =>
          'budget' in policy ? actualCostPico : policy.bucket.kind === 'rpm' ? 1 : actualTokens,
        );
        await releaseTopUps();
        const after = await store.commit(result.reservation, actual, clock.now());
        if (onEvent !== undefined) {
          collectAlerts(applied, result.reservation, after, actualCostPico, onEvent, clock.now());
        }
      },
      release: async () => {
        if (done) return;
        done = true;
        await releaseTopUps();
        await store.release(result.reservation, clock.now());
      },
      extend: async (extraPico) => {
        if (done) return false;
        const items = result.reservation.items.flatMap((item, i) => {
          const policy = applied[i];
          if (item.kind !== 'budget' || !policy || !('budget' in policy)) return [];
          const { budget } = policy.budget;
          return budget.streams === 'cut' && budget.mode === 'enforce'
            ? [{ ...item, amount: extraPico }]
            : [];
        });
        if (items.length === 0) return true;
        const more = await store.reserve(items, clock.now());
        if (!more.ok) return false;
        topUps.push(more.reservation);
        return true;
      },
    };
  }

  /**
   * Token buckets are rebuilt by charging the rows of their window again, in admission order
   * and at their own times (never refused), so refill since each row is exact.
   */
  async function replayBuckets(row: SeedRow, nowMs: number): Promise<void> {
    const items: ReserveItem[] = [];
    for (const bucket of buckets) {
      if (row.atMs < nowMs - BUCKET_WINDOW_SECONDS[bucket.kind] * 1000) continue;
      const values = bucket.limit.matcher.match(row.dims);
      if (values === null) continue;
      const cost = bucket.kind === 'rpm' ? 1 : (row.tokens ?? 0);
      items.push({
        kind: 'bucket',
        key: bucket.prefix + values,
        cost,
        config: bucket.config,
        enforce: false,
      });
    }
    if (items.length === 0) return;
    const result = await store.reserve(items, row.atMs);
    if (result.ok)
      await store.commit(
        result.reservation,
        items.map((i) => (i.kind === 'bucket' ? i.cost : 0)),
        row.atMs,
      );
  }

  return {
    async admit(request) {
      const nowMs = clock.now();
      const { dims } = request;

      if (killSwitches.length > 0) {
        const hit = matchKillSwitch(killSwitches, dims, nowMs);
        if (hit !== null) {
          const retry = killSwitchRetryAfter(hit, nowMs);
          return {
            allowed: false,
            reason: 'kill_switch',
            retryAfterSeconds: retry ?? undefined,
            headers: {},
            refusal: {
              kind: 'kill_switch',
              dimension: hit.dimension,
              value: hit.value,
              reason: hit.reason ?? null,
              expiresAtMs: hit.expires_at ?? null,
            },
          };
        }
      }

      const { items, applied } = collect(dims, request, nowMs);
      if (items.length === 0) {
        return {
          allowed: true,
          action: 'allow',
          delayMs: 0,
          headers: {},
          shadowRejected: [],
          streamLimitPico: null,
          hold: NO_OP_HOLD,
        };
      }

      let result: ReserveResult;
      try {
        result = await store.reserve(items, nowMs);
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) {
          // Not an outage but a bug (in a script, in the store's code): serving the request
          // with no hold would let it spend past every budget unseen, and so would every
          // request after it. Refuse it like a closed store, whatever the outage rule, and
          // tell a person.
          logger?.error(
            { event: 'enforcement.failed', err: (err as Error)?.message ?? String(err) },
            'the counter store failed for a reason other than an outage; the request is refused',
          );
          return {
            allowed: false,
            reason: 'store_unavailable',
            retryAfterSeconds: undefined,
            headers: {},
          };
        }
        // SPEC "Storage": an outage follows the configured rule instead of failing the request.
        if (failClosed) {
          return {
            allowed: false,
            reason: 'store_unavailable',
            retryAfterSeconds: undefined,
            headers: {},
          };
        }
        return {
          allowed: true,
          action: 'allow',
          delayMs: 0,
          headers: {},
          shadowRejected: [],
          streamLimitPico: null,
          failOpen: 'store_unavailable',
          hold: NO_OP_HOLD,
        };
      }

      if (!result.ok) {
        // Only this path writes the refusal log: admitted requests pay nothing for it.
        for (const index of result.rejected) {
          const item = items[index];
          const window = applied[index]?.window;
          if (item?.kind === 'budget' && window) refusals.record(item.key, nowMs, window.endMs);
        }
        return rejectionOf(result, items, applied, nowMs);
      }
      const admission = admissionOf(result, items, applied, nowMs, makeHold(result, applied));
      // Enforced, but on this gateway's own counters while the shared store is down.
      return result.local && admission.allowed
        ? { ...admission, failOpen: 'store_unavailable' }
        : admission;
    },

    async budgetsView(nowMs) {
      return buildBudgetsView(await store.snapshot(), byName, nowMs, refusals);
    },

    appliesEnforcing(dims) {
      for (const prepared of budgets) {
        if (prepared.budget.mode === 'enforce' && prepared.budget.matcher.match(dims) !== null) {
          return true;
        }
      }
      return false;
    },

    setKillSwitches(records) {
      killSwitches = records;
    },

    seedSinceMs(nowMs) {
      let since = nowMs;
      for (const prepared of budgets)
        since = Math.min(since, prepared.budget.window(nowMs).startMs);
      for (const bucket of buckets) {
        since = Math.min(since, nowMs - BUCKET_WINDOW_SECONDS[bucket.kind] * 1000);
      }
      return since;
    },

    async seed(rows, nowMs) {
      const totals = new Map<string, { committed: Pico; expiresAtMs: number }>();
      for await (const row of rows) {
        // A shared store's buckets already counted these rows when they were served.
        if (!store.shared) await replayBuckets(row, nowMs);
        for (const prepared of budgets) {
          const values = prepared.budget.matcher.match(row.dims);
          if (values === null) continue;
          const window = prepared.budget.window(row.atMs);
          // SPEC: a row counts in the period of its admission time; only the live one matters.
          if (nowMs < window.startMs || nowMs >= window.endMs) continue;
          const key = budgetInstanceKey(prepared.prefix, window.startMs, values);
          const total = totals.get(key);
          if (total === undefined) {
            totals.set(key, { committed: row.costPico, expiresAtMs: window.endMs + KEY_GRACE_MS });
          } else {
            total.committed += row.costPico;
          }
        }
      }
      for (const [key, total] of totals) await store.seed(key, total.committed, total.expiresAtMs);
    },
  };
}
