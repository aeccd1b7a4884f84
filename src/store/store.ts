/**
 * The counter store: budget instance counters and rate-limit buckets behind one small async
 * interface. Every method is one round trip, so a Redis implementation can run each as one
 * script; the memory store in `memory.ts` is the embedded default.
 */
import type { Pico } from '../money/money.js';
import type { BudgetState } from '../policy/cost-budget.js';
import type { TokenBucketConfig, TokenBucketDecision } from '../policy/token-bucket.js';

/**
 * The store cannot answer now: Redis unreachable or too slow, or down while the rule is
 * fail_closed. Only this error makes the engine apply `storage.on_store_down`; any other error
 * from a store is a bug, and the request is refused rather than served with no hold.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** A charge against one budget instance in one period. */
export type BudgetItem = {
  readonly kind: 'budget';
  /** Budget name, period start and scope values; see `engine/keys.ts`. */
  readonly key: string;
  readonly amount: Pico;
  /** The most committed + reserved this charge may leave; null never rejects (shadow mode). */
  readonly maxAfter: Pico | null;
  /** When the instance's period is over and its key may be dropped. */
  readonly expiresAtMs: number;
};

/** A charge against one rate-limit bucket. */
export type BucketItem = {
  readonly kind: 'bucket';
  readonly key: string;
  readonly cost: number;
  readonly config: TokenBucketConfig;
  /** False for shadow limits: they count traffic but never reject. */
  readonly enforce: boolean;
};

/** One counter a request charges. */
export type ReserveItem = BudgetItem | BucketItem;

/** What the store decided on for one item: budget counters before the charge, or a bucket check. */
export type ItemState = BudgetState | TokenBucketDecision;

/** A successful reservation, to be committed or released exactly once. */
export type Reservation = { readonly items: readonly ReserveItem[]; readonly atMs: number };

/** The result of an all-or-nothing reserve. */
export type ReserveResult =
  | {
      readonly ok: true;
      readonly reservation: Reservation;
      readonly states: readonly ItemState[];
      /**
       * Set when the shared store was unreachable and this gateway's own counters decided (the
       * fail-open rule, `failover.ts`): the request is enforced, but not across replicas.
       */
      readonly local?: true;
    }
  | {
      readonly ok: false;
      /** Indexes of the items that refused; nothing was charged. */
      readonly rejected: readonly number[];
      readonly states: readonly ItemState[];
      readonly local?: true;
    };

/** One budget instance's counters, for `GET /budgets`. */
export type InstanceSnapshot = {
  readonly key: string;
  readonly committed: Pico;
  readonly reserved: Pico;
};

/** Counters for budgets and rate limits, shared by every request of a gateway (or of a fleet). */
export interface CounterStore {
  /**
   * True when the counters outlive this process and other gateways share them (Redis): they
   * already hold what the ledger's rows charged, so a start must not replay rows into buckets.
   */
  readonly shared?: boolean;
  /**
   * Checks and charges every item of one request atomically: when any enforcing item refuses,
   * none is charged. Concurrent calls never see each other's half-done work.
   */
  reserve(items: readonly ReserveItem[], nowMs: number): Promise<ReserveResult>;
  /**
   * Replaces a reservation with the actual amounts, one per item (Pico for budgets, units for
   * buckets); resolves to each budget item's counters after the commit (null for buckets).
   */
  commit(
    reservation: Reservation,
    actual: readonly (Pico | number)[],
    nowMs: number,
  ): Promise<readonly (BudgetState | null)[]>;
  /** Returns a reservation unused: budgets and buckets get all of it back. */
  release(reservation: Reservation, nowMs: number): Promise<void>;
  /** Every budget instance held, for reporting. */
  snapshot(): Promise<readonly InstanceSnapshot[]>;
  /**
   * Sets an instance's committed spend, to rebuild state from the ledger at start. A shared store
   * keeps its own figure when that is larger: other gateways' charges may not be in this ledger.
   */
  seed(key: string, committed: Pico, expiresAtMs: number): Promise<void>;
  /** Drops instances whose period is over and buckets that have refilled; resolves to the count. */
  sweep(nowMs: number): Promise<number>;
  /** Closes connections and timers; the in-process store has none. */
  close?(): Promise<void>;
}
