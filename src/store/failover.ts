/**
 * The `on_store_down` rule around the Redis store. While Redis answers, every call goes there.
 * When a call gets no answer the store is down until a background probe gets one again:
 *
 * - fail_open: requests are enforced on local counters (a fresh MemoryStore, started from the
 *   last counters Redis returned) and flagged `local`, so their rows say `fail_open`. What they
 *   commit locally is added to Redis once it is back, in one idempotent batch.
 * - fail_closed: `reserve` throws at once, and the engine answers 503 `store_unavailable`.
 *
 * Either way a reservation is settled where it was made: a local one in its local store (its
 * commit then joins the next batch for Redis), a Redis one in Redis, queued until Redis answers
 * when it cannot be sent now. Settles carry a hold marker, so a replayed one never counts twice.
 *
 * A Redis that restarts without persistence comes back empty: budgets would start again from
 * zero while the gateways run. So each instance's committed spend last seen is kept as a floor,
 * put back (as a seed, which only ever raises a counter) whenever the connection is made again,
 * before anything else is sent; and a commit whose hold marker is gone although it was never
 * sent before is added again as an outside charge, since its reservation was lost with the data.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import type { Pico } from '../money/money.js';
import type { BudgetState } from '../policy/cost-budget.js';
import type { TokenBucketConfig } from '../policy/token-bucket.js';
import { MemoryStore } from './memory.js';
import { StoreUnreachableError, type AppliedCharge, type RedisStore } from './redis.js';
import {
  StoreUnavailableError,
  type CounterStore,
  type InstanceSnapshot,
  type Reservation,
  type ReserveItem,
  type ReserveResult,
} from './store.js';

/** How the failover store is set up. */
export type FailoverOptions = {
  readonly remote: RedisStore;
  readonly rule: 'fail_open' | 'fail_closed';
  readonly logger: Logger;
  readonly clock: Clock;
  /** How often a down store is probed. @default 250 */
  readonly probeIntervalMs?: number;
  /** How long the first call waits for the first connection. @default 1000 */
  readonly connectWaitMs?: number;
  /** Why the connection is not up (a refused password...), for the `store.down` line. */
  readonly connectionProblem?: () => string | null;
};

/** A Redis settle that could not be sent, replayed in order once Redis answers. */
type PendingSettle = {
  readonly reservation: Reservation;
  readonly actual: readonly (Pico | number)[] | null;
  readonly nowMs: number;
  /** Sent once with no answer: it may have landed, so a missing marker proves nothing. */
  readonly sent: boolean;
};

type Outage = { readonly sinceMs: number; readonly local: MemoryStore; readonly reason: string };

/**
 * Last counters seen per budget instance: committed plus reserved, the starting point of local
 * counters in an outage; and the committed spend alone, the floor put back after Redis lost it.
 */
type KnownCounters = { committed: Pico; floor: Pico; expiresAtMs: number };

/** Seeds sent at once when floors are put back. */
const RESEED_CHUNK = 200;

/** Enough instances for every live budget of a large fleet; older ones are forgotten first. */
const KNOWN_LIMIT = 100_000;

/** Thrown by `reserve` under fail_closed while the store is down. */
export class StoreDownError extends StoreUnavailableError {
  constructor() {
    super('the counter store is down');
    this.name = 'StoreDownError';
  }
}

/** A {@link CounterStore} that keeps enforcing by the configured rule while Redis is down. */
export class FailoverStore implements CounterStore {
  readonly shared = true;
  readonly #remote: RedisStore;
  readonly #rule: 'fail_open' | 'fail_closed';
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #probeIntervalMs: number;
  readonly #started: Promise<void>;
  /** Which local store made each local reservation, across outages. */
  readonly #localOf = new WeakMap<Reservation, MemoryStore>();
  readonly #known = new Map<string, KnownCounters>();
  /** Budget amounts and bucket units committed locally and not yet in Redis. */
  readonly #charges = new Map<string, AppliedCharge>();
  readonly #pendingSettles: PendingSettle[] = [];
  readonly #pendingSeeds = new Map<string, { committed: Pico; expiresAtMs: number }>();
  #outage: Outage | null = null;
  #probe: NodeJS.Timeout | null = null;
  #probing = false;
  #flushing: Promise<void> | null = null;
  /** A batch sent but not known to have landed: retried as it is, under the same id. */
  #unsentBatch: { id: string; charges: AppliedCharge[] } | null = null;
  /** Reservations already committed or released here: a second settle is a no-op. */
  readonly #settled = new WeakSet<Reservation>();
  /** Floors being put back after a reconnect; every Redis call waits for it. */
  #reseeding: Promise<void> | null = null;
  #closed = false;

  constructor(options: FailoverOptions) {
    this.#remote = options.remote;
    this.#rule = options.rule;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#probeIntervalMs = options.probeIntervalMs ?? 250;
    // Requests that arrive while the first connection is being made wait for it (briefly)
    // instead of starting the gateway in an outage.
    this.#started = this.#remote.waitReady(options.connectWaitMs ?? 1_000).then((ready) => {
      if (ready) return;
      const why = options.connectionProblem?.() ?? null;
      const reason = why === null ? 'no connection to Redis' : `no connection to Redis: ${why}`;
      this.#goDown(new Error(reason), this.#clock.now());
    });
    // Set synchronously on 'ready', before any command can go out on the new connection.
    // During an outage the recovery puts the floors back itself, before its replays.
    this.#remote.onReconnect(() => {
      if (this.#outage === null) void this.#reseedFloors();
    });
  }

  /** Whether Redis is counted as down right now. */
  get down(): boolean {
    return this.#outage !== null;
  }

  async reserve(items: readonly ReserveItem[], nowMs: number): Promise<ReserveResult> {
    await this.#started;
    if (this.#reseeding !== null) await this.#reseeding;
    if (this.#outage === null) {
      try {
        const result = await this.#remote.reserve(items, nowMs);
        this.#remember(items, result);
        return result;
      } catch (err) {
        if (!(err instanceof StoreUnreachableError)) throw err;
        // The reserve may have landed before the answer was lost: give it back once Redis is
        // reachable (a no-op if it never landed).
        if (err.maybeReserved) {
          this.#pendingSettles.push({
            reservation: err.maybeReserved,
            actual: null,
            nowMs,
            sent: true,
          });
        }
        this.#goDown(err, nowMs);
      }
    }

    if (this.#rule === 'fail_closed') throw new StoreDownError();
    const local = this.#localStore();
    const result = local.reserveNow(items, nowMs);
    if (result.ok) this.#localOf.set(result.reservation, local);
    return { ...result, local: true };
  }

  async commit(
    reservation: Reservation,
    actual: readonly (Pico | number)[],
    nowMs: number,
  ): Promise<readonly (BudgetState | null)[]> {
    const nothing = reservation.items.map(() => null);
    // Settled once only, even when two exits of a request race to settle it.
    if (this.#settled.has(reservation)) return nothing;
    this.#settled.add(reservation);
    const local = this.#localOf.get(reservation);
    if (local !== undefined) {
      this.#localOf.delete(reservation);
      const after = await local.commit(reservation, actual, nowMs);
      this.#addCharges(reservation.items, actual);
      if (this.#outage === null) void this.#flushCharges();
      return after;
    }

    if (this.#reseeding !== null) await this.#reseeding;
    if (this.#outage === null) {
      try {
        const { applied, after } = await this.#remote.settleTracked(reservation, actual, nowMs);
        if (applied) this.#rememberAfter(reservation.items, after);
        else this.#chargeLost(reservation.items, actual);
        return after;
      } catch (err) {
        if (!(err instanceof StoreUnreachableError)) throw err;
        this.#goDown(err, nowMs);
        this.#pendingSettles.push({ reservation, actual, nowMs, sent: true });
        return nothing;
      }
    }
    this.#pendingSettles.push({ reservation, actual, nowMs, sent: false });
    return nothing;
  }

  async release(reservation: Reservation, nowMs: number): Promise<void> {
    if (this.#settled.has(reservation)) return;
    this.#settled.add(reservation);
    const local = this.#localOf.get(reservation);
    if (local !== undefined) {
      this.#localOf.delete(reservation);
      await local.release(reservation, nowMs);
      return;
    }

    if (this.#outage === null) {
      try {
        await this.#remote.release(reservation, nowMs);
        return;
      } catch (err) {
        if (!(err instanceof StoreUnreachableError)) throw err;
        this.#goDown(err, nowMs);
      }
    }
    // A release that never landed needs no proof either way: nothing it held is spent.
    this.#pendingSettles.push({ reservation, actual: null, nowMs, sent: true });
  }

  async snapshot(): Promise<readonly InstanceSnapshot[]> {
    await this.#started;
    if (this.#outage === null) {
      try {
        return await this.#remote.snapshot();
      } catch (err) {
        if (!(err instanceof StoreUnreachableError)) throw err;
        this.#goDown(err, this.#clock.now());
      }
    }
    return this.#localStore().snapshot();
  }

  async seed(key: string, committed: Pico, expiresAtMs: number): Promise<void> {
    await this.#started;
    if (this.#outage === null) {
      try {
        await this.#remote.seed(key, committed, expiresAtMs);
        this.#raiseFloor(key, committed, expiresAtMs);
        return;
      } catch (err) {
        if (!(err instanceof StoreUnreachableError)) throw err;
        this.#goDown(err, this.#clock.now());
      }
    }
    // Seeding keeps the larger figure, so sending it again later is harmless.
    this.#pendingSeeds.set(key, { committed, expiresAtMs });
    const local = this.#localStore();
    const seen = this.#known.get(key)?.committed ?? 0n;
    await local.seed(key, committed > seen ? committed : seen, expiresAtMs);
  }

  async sweep(nowMs: number): Promise<number> {
    for (const [key, known] of this.#known) if (known.expiresAtMs <= nowMs) this.#known.delete(key);
    const local = this.#outage?.local;
    const dropped = local === undefined ? 0 : await local.sweep(nowMs);
    if (this.#outage !== null) return dropped;
    try {
      return dropped + (await this.#remote.sweep(nowMs));
    } catch (err) {
      if (!(err instanceof StoreUnreachableError)) throw err;
      this.#goDown(err, nowMs);
      return dropped;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#probe = null;
    // Local charges not yet in Redis get one last chance; the ledger has them either way.
    if (this.#outage === null && (this.#charges.size > 0 || this.#unsentBatch !== null)) {
      await this.#flushCharges();
    }
    await this.#remote.close();
  }

  /** The current outage's local counters (none once closed: the store refuses then). */
  #localStore(): MemoryStore {
    if (this.#outage === null) throw new StoreDownError();
    return this.#outage.local;
  }

  #goDown(err: unknown, nowMs: number): void {
    if (this.#outage !== null || this.#closed) return;
    const local = new MemoryStore();
    // Local enforcement starts from what Redis last said, not from zero: a budget nearly spent
    // before the outage stays nearly spent during it.
    for (const [key, known] of this.#known) {
      if (known.expiresAtMs > nowMs) void local.seed(key, known.committed, known.expiresAtMs);
    }
    const reason = (err as Error)?.message ?? String(err);
    this.#outage = { sinceMs: Date.now(), local, reason };
    const failOpen = this.#rule === 'fail_open';
    const fields = { event: 'store.down', rule: this.#rule, reason };
    if (failOpen) {
      this.#logger.warn(fields, 'counter store unreachable; enforcing on local counters');
    } else {
      this.#logger.error(fields, 'counter store unreachable; refusing requests (fail_closed)');
    }
    this.#probe = setInterval(() => void this.#tryRecover(), this.#probeIntervalMs);
    this.#probe.unref();
  }

  /**
   * Redis answers again: settles queued while it was down go first (in order), then the local
   * charges, then seeds; only once all landed does traffic go back to Redis, so it sees them.
   */
  async #tryRecover(): Promise<void> {
    if (this.#probing || this.#outage === null || this.#closed) return;
    this.#probing = true;
    try {
      await this.#remote.ping();
      // Before anything else lands: a Redis that restarted empty gets its spend back first, so
      // the additions below are added to it rather than taken into a seed's maximum.
      const floors = await this.#putFloorsBack();
      let replayed = 0;
      while (this.#pendingSettles.length > 0) {
        const settle = this.#pendingSettles[0] as PendingSettle;
        await this.#unlessBroken('settle', async () => {
          const { reservation, actual, nowMs } = settle;
          const { applied } = await this.#remote.settleTracked(reservation, actual, nowMs);
          // Never sent, yet its marker is gone: the reservation was lost with Redis's data.
          if (!applied && !settle.sent && actual !== null) {
            this.#chargeLost(reservation.items, actual);
          }
        });
        this.#pendingSettles.shift();
        replayed++;
      }
      const reconciled = this.#charges.size + (this.#unsentBatch?.charges.length ?? 0);
      await this.#unlessBroken('reconcile', () => this.#sendCharges());
      for (const [key, seed] of this.#pendingSeeds) {
        await this.#unlessBroken('seed', () =>
          this.#remote.seed(key, seed.committed, seed.expiresAtMs),
        );
        this.#pendingSeeds.delete(key);
      }

      const outage = this.#outage;
      this.#outage = null;
      if (this.#probe !== null) clearInterval(this.#probe);
      this.#probe = null;
      this.#logger.info(
        {
          event: 'store.up',
          rule: this.#rule,
          down_ms: Date.now() - outage.sinceMs,
          replayed_settles: replayed,
          reconciled_counters: reconciled,
          floors_restored: floors,
        },
        'counter store reachable again',
      );
      // Local reservations settled during the recovery itself.
      if (this.#charges.size > 0) void this.#flushCharges();
    } catch {
      // Still down: the next probe goes on from where this one stopped.
    } finally {
      this.#probing = false;
    }
  }

  /**
   * Runs one replay step; a failure other than "no answer" is a bug that a retry would only
   * repeat, so the step is dropped (logged) rather than holding every later one back.
   */
  async #unlessBroken(step: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (err instanceof StoreUnreachableError) throw err;
      if (step === 'reconcile') this.#unsentBatch = null;
      this.#logger.error(
        { event: 'store.replay_dropped', step, reason: (err as Error).message },
        'a counter update could not be replayed into the shared store and was dropped',
      );
    }
  }

  /** Sends local charges now that Redis is up; a failure starts an outage again. */
  #flushCharges(): Promise<void> {
    if (this.#flushing !== null) return this.#flushing;
    this.#flushing = (async () => {
      try {
        if (this.#reseeding !== null) await this.#reseeding;
        // Charges added while a batch is in flight go in the next round of this loop.
        while (this.#outage === null && (this.#charges.size > 0 || this.#unsentBatch !== null)) {
          await this.#unlessBroken('reconcile', () => this.#sendCharges());
        }
      } catch (err) {
        this.#goDown(err, this.#clock.now());
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  async #sendCharges(): Promise<void> {
    if (this.#unsentBatch === null && this.#charges.size > 0) {
      this.#unsentBatch = { id: this.#remote.newBatchId(), charges: [...this.#charges.values()] };
      this.#charges.clear();
    }
    const batch = this.#unsentBatch;
    if (batch === null) return;
    await this.#remote.apply(batch.id, batch.charges, this.#clock.now());
    this.#unsentBatch = null;
  }

  #addCharges(items: readonly ReserveItem[], actual: readonly (Pico | number)[]): void {
    items.forEach((item, i) => {
      const used = actual[i];
      const existing = this.#charges.get(item.key);
      if (item.kind === 'budget') {
        const amount = typeof used === 'bigint' ? used : 0n;
        const before = existing?.kind === 'budget' ? existing.amount : 0n;
        const known = this.#known.get(item.key);
        if (known !== undefined) known.committed += amount;
        this.#charges.set(item.key, {
          kind: 'budget',
          key: item.key,
          amount: before + amount,
          expiresAtMs: item.expiresAtMs,
        });
      } else {
        const units = typeof used === 'number' ? used : 0;
        const before = existing?.kind === 'bucket' ? existing.units : 0;
        this.#charges.set(item.key, bucketCharge(item.key, before + units, item.config));
      }
    });
  }

  #remember(items: readonly ReserveItem[], result: ReserveResult): void {
    items.forEach((item, i) => {
      const state = result.states[i];
      if (item.kind !== 'budget' || state === undefined || !('committed' in state)) return;
      // Open reservations count as spent locally: they settle in Redis, out of local sight.
      const charged = result.ok ? item.amount : 0n;
      this.#know(item.key, state.committed + state.reserved + charged, item.expiresAtMs);
      this.#raiseFloor(item.key, state.committed, item.expiresAtMs);
    });
  }

  #rememberAfter(items: readonly ReserveItem[], after: readonly (BudgetState | null)[]): void {
    items.forEach((item, i) => {
      const state = after[i];
      if (item.kind === 'budget' && state) {
        this.#know(item.key, state.committed + state.reserved, item.expiresAtMs);
        this.#raiseFloor(item.key, state.committed, item.expiresAtMs);
      }
    });
  }

  #know(key: string, committed: Pico, expiresAtMs: number): void {
    const floor = this.#known.get(key)?.floor ?? 0n;
    this.#known.delete(key);
    this.#known.set(key, { committed, floor, expiresAtMs });
    if (this.#known.size > KNOWN_LIMIT) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  /** Committed spend only grows within a period: the most seen is a floor for the instance. */
  #raiseFloor(key: string, committed: Pico, expiresAtMs: number): void {
    const known = this.#known.get(key);
    if (known === undefined) this.#know(key, committed, expiresAtMs);
    const entry = this.#known.get(key) as KnownCounters;
    if (committed > entry.floor) entry.floor = committed;
  }

  /**
   * A commit whose reservation was lost with Redis's data: its marker was gone on the first
   * try, so it counted nothing. Its amounts go to Redis as an outside charge instead.
   */
  #chargeLost(items: readonly ReserveItem[], actual: readonly (Pico | number)[]): void {
    this.#addCharges(items, actual);
    if (this.#outage === null) void this.#flushCharges();
  }

  /** Puts floors back after a reconnect with no outage seen; calls made meanwhile wait for it. */
  #reseedFloors(): Promise<void> {
    this.#reseeding ??= this.#putFloorsBack()
      .then((floors) => {
        this.#logger.info(
          { event: 'store.reconnected', floors_restored: floors },
          'counter store connection made again; committed spend last seen sent back to it',
        );
      })
      .catch((err: unknown) => {
        // No answer: an outage, whose recovery puts the floors back before anything else.
        if (err instanceof StoreUnreachableError) this.#goDown(err, this.#clock.now());
      })
      .finally(() => {
        this.#reseeding = null;
      });
    return this.#reseeding;
  }

  /**
   * Seeds every live instance with the committed spend last seen. A seed only raises a counter,
   * so after a restart that kept the data this changes nothing; after one that lost it, budgets
   * go on from where they were instead of from zero.
   */
  async #putFloorsBack(): Promise<number> {
    const nowMs = this.#clock.now();
    const live = [...this.#known].filter(([, k]) => k.floor > 0n && k.expiresAtMs > nowMs);
    for (let i = 0; i < live.length; i += RESEED_CHUNK) {
      await Promise.all(
        live
          .slice(i, i + RESEED_CHUNK)
          .map(([key, k]) =>
            this.#unlessBroken('floor', () => this.#remote.seed(key, k.floor, k.expiresAtMs)),
          ),
      );
    }
    return live.length;
  }
}

function bucketCharge(key: string, units: number, config: TokenBucketConfig): AppliedCharge {
  return { kind: 'bucket', key, units, config };
}
