/**
 * The in-process counter store. JavaScript runs one callback at a time, so each method does its
 * whole check-and-write synchronously before its promise settles: concurrent `reserve` calls
 * from many requests are serialized without locks and can never jointly overshoot a budget.
 */
import type { Pico } from '../money/money.js';
import type { BudgetState } from '../policy/cost-budget.js';
import {
  checkTokenBucket,
  refill,
  settleTokenBucket,
  type TokenBucketConfig,
  type TokenBucketState,
} from '../policy/token-bucket.js';
import type {
  CounterStore,
  InstanceSnapshot,
  ItemState,
  Reservation,
  ReserveItem,
  ReserveResult,
} from './store.js';

/** A mutable class keeps 100,000 instances in one compact hidden-class shape. */
class BudgetEntry {
  committed: Pico = 0n;
  reserved: Pico = 0n;
  expiresAtMs: number;

  constructor(expiresAtMs: number) {
    this.expiresAtMs = expiresAtMs;
  }
}

type BucketEntry = { state: TokenBucketState; config: TokenBucketConfig };

/** How often `reserve` drops old periods' keys on its own. */
const SWEEP_EVERY_MS = 60_000;

/** An in-process {@link CounterStore}; state lives as long as the process. */
export class MemoryStore implements CounterStore {
  readonly #budgets = new Map<string, BudgetEntry>();
  readonly #buckets = new Map<string, BucketEntry>();
  #nextSweepMs = 0;

  /** How many budget instances and buckets are held, for tests and metrics. */
  get size(): { budgets: number; buckets: number } {
    return { budgets: this.#budgets.size, buckets: this.#buckets.size };
  }

  reserve(items: readonly ReserveItem[], nowMs: number): Promise<ReserveResult> {
    return Promise.resolve(this.reserveNow(items, nowMs));
  }

  /** The synchronous core of {@link reserve}, for callers that already hold the event loop. */
  reserveNow(items: readonly ReserveItem[], nowMs: number): ReserveResult {
    if (nowMs >= this.#nextSweepMs) {
      this.sweepNow(nowMs);
      this.#nextSweepMs = nowMs + SWEEP_EVERY_MS;
    }

    const states: ItemState[] = new Array<ItemState>(items.length);
    let rejected: number[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as ReserveItem;
      if (item.kind === 'budget') {
        const entry = this.#budgets.get(item.key);
        const committed = entry?.committed ?? 0n;
        const reserved = entry?.reserved ?? 0n;
        states[i] = { committed, reserved };
        if (item.maxAfter !== null && committed + reserved + item.amount > item.maxAfter) {
          (rejected ??= []).push(i);
        }
      } else {
        const decision = checkTokenBucket(
          this.#buckets.get(item.key)?.state,
          item.config,
          item.cost,
          nowMs,
        );
        states[i] = decision;
        if (!decision.allowed && item.enforce) (rejected ??= []).push(i);
      }
    }

    if (rejected !== null) return { ok: false, rejected, states };

    for (let i = 0; i < items.length; i++) {
      const item = items[i] as ReserveItem;
      if (item.kind === 'budget') {
        let entry = this.#budgets.get(item.key);
        if (entry === undefined) {
          entry = new BudgetEntry(item.expiresAtMs);
          this.#budgets.set(item.key, entry);
        }
        entry.reserved += item.amount;
      } else {
        const decision = states[i] as ReturnType<typeof checkTokenBucket>;
        // A shadow limit that would have refused still counts the traffic it let through.
        const state = decision.allowed
          ? decision.next
          : { tokens: decision.next.tokens - item.cost, updatedAtMs: nowMs };
        this.#buckets.set(item.key, { state, config: item.config });
      }
    }
    return { ok: true, reservation: { items, atMs: nowMs }, states };
  }

  commit(
    reservation: Reservation,
    actual: readonly (Pico | number)[],
    nowMs: number,
  ): Promise<readonly (BudgetState | null)[]> {
    return Promise.resolve(this.settleNow(reservation, actual, nowMs));
  }

  release(reservation: Reservation, nowMs: number): Promise<void> {
    this.settleNow(reservation, null, nowMs);
    return Promise.resolve();
  }

  snapshot(): Promise<readonly InstanceSnapshot[]> {
    const out: InstanceSnapshot[] = [];
    for (const [key, entry] of this.#budgets) {
      out.push({ key, committed: entry.committed, reserved: entry.reserved });
    }
    return Promise.resolve(out);
  }

  seed(key: string, committed: Pico, expiresAtMs: number): Promise<void> {
    let entry = this.#budgets.get(key);
    if (entry === undefined) {
      entry = new BudgetEntry(expiresAtMs);
      this.#budgets.set(key, entry);
    }
    entry.committed = committed;
    return Promise.resolve();
  }

  sweep(nowMs: number): Promise<number> {
    return Promise.resolve(this.sweepNow(nowMs));
  }

  private settleNow(
    reservation: Reservation,
    actual: readonly (Pico | number)[] | null,
    nowMs: number,
  ): (BudgetState | null)[] {
    const { items } = reservation;
    const after: (BudgetState | null)[] = new Array<BudgetState | null>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as ReserveItem;
      const used = actual?.[i];
      if (item.kind === 'budget') {
        const entry = this.#budgets.get(item.key);
        // The period ended and its key was dropped: the row still counts in its own period,
        // which nobody reads any more, so there is nothing to correct.
        if (entry === undefined) {
          after[i] = null;
          continue;
        }
        entry.reserved -= item.amount;
        if (typeof used === 'bigint') entry.committed += used;
        after[i] = { committed: entry.committed, reserved: entry.reserved };
      } else {
        const entry = this.#buckets.get(item.key);
        const usedUnits = typeof used === 'number' ? used : 0;
        const state = settleTokenBucket(entry?.state, item.config, item.cost, usedUnits, nowMs);
        this.#buckets.set(item.key, { state, config: item.config });
        after[i] = null;
      }
    }
    return after;
  }

  private sweepNow(nowMs: number): number {
    let dropped = 0;
    for (const [key, entry] of this.#budgets) {
      if (entry.expiresAtMs <= nowMs && entry.reserved === 0n) {
        this.#budgets.delete(key);
        dropped++;
      }
    }
    for (const [key, entry] of this.#buckets) {
      if (refill(entry.state, entry.config, nowMs) >= entry.config.capacity) {
        this.#buckets.delete(key);
        dropped++;
      }
    }
    return dropped;
  }
}
