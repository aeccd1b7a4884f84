/**
 * The Redis counter store, for several gateways sharing budgets and rate limits. Every method
 * is one script call (`redis-scripts.ts`); amounts stay exact to the pico-dollar because they are
 * held as integer pairs (`redis-amounts.ts`). Token-bucket decisions are computed here from the
 * level the script read, with the same `checkTokenBucket` the memory store uses, so both stores
 * answer alike. Keys are written printable (`redis-keys.ts`), so operators can scan and delete
 * them with the usual tools.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../clock.js';
import type { Pico } from '../money/money.js';
import type { BudgetState } from '../policy/cost-budget.js';
import { checkTokenBucket, type TokenBucketConfig } from '../policy/token-bucket.js';
import {
  MAX_CHARGE_PICO,
  MAX_EXACT_PICO,
  asDouble,
  asInteger,
  fromParts,
  minPico,
  toParts,
} from './redis-amounts.js';
import {
  DeadlineError,
  StoreUnreachableError,
  isUnavailable,
  withDeadline,
} from './redis-calls.js';
import { decodeKey, encodeKey } from './redis-keys.js';
import { DEFAULT_LEASE_MS, LeaseTimers, leaseKeys, type LeaseKeys } from './redis-lease.js';
import { defineCounterScripts, type CounterScripts } from './redis-scripts.js';
import { DEFAULT_REDIS_PREFIX } from './redis-url.js';
import type {
  BudgetItem,
  CounterStore,
  InstanceSnapshot,
  ItemState,
  Reservation,
  ReserveItem,
  ReserveResult,
} from './store.js';

/** How the Redis store is set up. */
export type RedisStoreOptions = {
  /** Starts every key, so several deployments (and test runs) share one Redis. @default spendgate: */
  readonly prefix?: string;
  /**
   * Whose time refills token buckets: `redis` reads Redis's `TIME` inside each script, so
   * replicas whose clocks disagree still share one bucket; `caller` uses the `nowMs` each call
   * passes, for tests that drive a fake clock. @default redis
   */
  readonly clock?: 'redis' | 'caller';
  /** The caller's clock, read by `seed` (which is given no time) to place the key's expiry. */
  readonly callerClock?: Clock;
  /** How long a call may wait for its answer before Redis counts as unreachable. @default 250 */
  readonly timeoutMs?: number;
  /**
   * How long this gateway's holds outlive its last lease renewal: after that, any gateway on the
   * prefix may give them back (`redis-lease.ts`). @default 15000
   */
  readonly leaseMs?: number;
};

export { StoreUnreachableError } from './redis-calls.js';

/** A charge made elsewhere, added by {@link RedisStore.apply}. */
export type AppliedCharge =
  | {
      readonly kind: 'budget';
      readonly key: string;
      readonly amount: Pico;
      readonly expiresAtMs: number;
    }
  | {
      readonly kind: 'bucket';
      readonly key: string;
      readonly units: number;
      readonly config: TokenBucketConfig;
    };

/** A reservation with the id of the marker that makes its settle count once. */
type RedisReservation = Reservation & { readonly holdId: string };

/** Open-hold markers outlive any request; they are deleted by the settle that uses them. */
const MIN_HOLD_TTL_MS = 86_400_000;
/** Reconcile batches are remembered this long, so a retried batch is recognised. */
const BATCH_TTL_MS = 86_400_000;
const SCAN_COUNT = 500;
/** Pings in a row without an answer before the connection is replaced. */
const SILENT_PINGS = 4;
/** Scans are off the request path and may take longer than one request's budget. */
const SCAN_DEADLINE_MS = 2_000;

/**
 * What a budget item's reservation adds in Redis. An enforcing item whose amount alone passes
 * its limit is refused whatever the counters hold, so one pico-dollar over the limit decides the
 * same and stays countable; a shadow item counts at most one charge's worth. Reserve and settle
 * both use this, so a settle takes back exactly what was held.
 */
function heldAmount(item: BudgetItem): Pico {
  if (item.maxAfter === null) return minPico(item.amount, MAX_CHARGE_PICO);
  return minPico(item.amount, minPico(item.maxAfter, MAX_EXACT_PICO) + 1n);
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** A {@link CounterStore} in Redis, shared by every gateway that uses the same prefix. */
export class RedisStore implements CounterStore {
  readonly shared = true;
  readonly #redis: Redis;
  readonly #scripts: CounterScripts;
  readonly #prefix: string;
  readonly #redisClock: boolean;
  readonly #callerClock: Clock;
  readonly #timeoutMs: number;
  /** This gateway's id: its lease and hold registry are named after it; base64url, so printable. */
  readonly #gatewayId = randomBytes(6).toString('base64url');
  readonly #idBase = `${this.#gatewayId}.`;
  readonly #leaseMs: number;
  readonly #leaseKeys: LeaseKeys;
  readonly #lease: LeaseTimers;
  #nextId = 0;
  #silentPings = 0;

  constructor(redis: Redis, options: RedisStoreOptions = {}) {
    this.#redis = redis;
    this.#scripts = defineCounterScripts(redis);
    this.#prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#redisClock = (options.clock ?? 'redis') === 'redis';
    this.#callerClock = options.callerClock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? 250;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#leaseKeys = leaseKeys((key) => this.#key(key), this.#gatewayId);
    this.#lease = new LeaseTimers(
      this.#leaseMs,
      () => this.renewLease(),
      () => this.releaseOrphans(),
    );
  }

  /** This gateway's id, which names its lease (for tests and operators reading keys). */
  get gatewayId(): string {
    return this.#gatewayId;
  }

  /** The key prefix, for tests that clean up after themselves. */
  get prefix(): string {
    return this.#prefix;
  }

  async reserve(items: readonly ReserveItem[], nowMs: number): Promise<ReserveResult> {
    const reservation: RedisReservation = { items, atMs: nowMs, holdId: this.#newId() };
    const keys = items.map((item) => this.#key(item.key));
    const { owned, owners, lease } = this.#leaseKeys;
    keys.push(this.#holdKey(reservation.holdId), owned, owners, lease);
    let holdTtl = MIN_HOLD_TTL_MS;
    const args = [
      this.#nowArg(nowMs),
      '',
      this.#gatewayId,
      reservation.holdId,
      String(this.#leaseMs),
      String(Buffer.byteLength(this.#prefix)),
    ];
    for (const item of items) {
      if (item.kind === 'budget') {
        const [u, p] = toParts(heldAmount(item));
        const [mu, mp] = item.maxAfter === null ? ['', ''] : toParts(item.maxAfter);
        // Relative to the caller's now: on a synced clock this is PEXPIREAT expiresAtMs, and a
        // skewed or fake clock can never make Redis drop a live period early.
        const ttl = Math.max(1, Math.ceil(item.expiresAtMs - nowMs));
        holdTtl = Math.max(holdTtl, ttl);
        args.push('b', u, p, mu, mp, String(ttl), String(item.expiresAtMs));
      } else {
        const { capacity, refillPerMs } = item.config;
        args.push('r', String(item.cost), String(capacity), String(refillPerMs));
        args.push(item.enforce ? '1' : '0', '', '');
      }
    }
    args[1] = String(holdTtl);

    const reply = await this.#call(() => this.#scripts.reserve(keys, args), {
      maybeReserved: reservation,
    });
    const result = this.#reserveResult(reply, reservation);
    // A hold whose answer was lost is covered by the lease its reserve wrote, then swept.
    if (result.ok) this.#lease.startRenewing();
    return result;
  }

  async commit(
    reservation: Reservation,
    actual: readonly (Pico | number)[],
    nowMs: number,
  ): Promise<readonly (BudgetState | null)[]> {
    return (await this.#settle(reservation, actual, nowMs)).after;
  }

  async release(reservation: Reservation, nowMs: number): Promise<void> {
    await this.#settle(reservation, null, nowMs);
  }

  /**
   * A commit (`actual`) or release (null) that also says whether it counted: false when the
   * reservation's marker was already gone, i.e. settled before, or lost with Redis's data. A
   * hold given back by a sweep (this gateway's lease lapsed) counts: the commit adds its cost.
   */
  settleTracked(
    reservation: Reservation,
    actual: readonly (Pico | number)[] | null,
    nowMs: number,
  ): Promise<{ applied: boolean; after: readonly (BudgetState | null)[] }> {
    return this.#settle(reservation, actual, nowMs);
  }

  async snapshot(): Promise<readonly InstanceSnapshot[]> {
    const keys = await this.#scan();
    if (keys.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const key of keys) pipeline.hmget(key, 'cu', 'cp', 'ru', 'rp', 'x');
    const replies = await this.#call(() => pipeline.exec(), { deadlineMs: SCAN_DEADLINE_MS });

    const out: InstanceSnapshot[] = [];
    keys.forEach((key, i) => {
      const [err, fields] = replies?.[i] ?? [null, null];
      // Buckets have no `x`; a key that expired between the scan and the read has nothing.
      if (err || !Array.isArray(fields) || fields[4] === null) return;
      const [cu, cp, ru, rp] = fields.map((f) => (f === null ? 0 : Number(f)));
      const engineKey = decodeKey(key.slice(this.#prefix.length));
      // A key of the layout before keys were encoded (raw NUL bytes) is left to expire.
      if (engineKey === null) return;
      out.push({
        key: engineKey,
        committed: fromParts(cu, cp),
        reserved: fromParts(ru, rp),
      });
    });
    return out;
  }

  async seed(key: string, committed: Pico, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.#callerClock.now());
    if (ttl <= 0) return;
    const [u, p] = toParts(committed);
    const args = [u, p, String(ttl), String(expiresAtMs)];
    await this.#call(() => this.#scripts.seed([this.#key(key)], args));
  }

  /**
   * Keys expire on their own (budget instances an hour after their period, buckets a minute
   * after they refill), so nothing needs this; it drops early what the memory store's sweep
   * drops, scanning by prefix, which is never on the request path.
   */
  async sweep(nowMs: number): Promise<number> {
    let dropped = 0;
    const keys = await this.#scan();
    for (let i = 0; i < keys.length; i += SCAN_COUNT) {
      const batch = keys.slice(i, i + SCAN_COUNT);
      const args = [this.#nowArg(nowMs), String(nowMs)];
      const reply = await this.#call(() => this.#scripts.sweep(batch, args), {
        deadlineMs: SCAN_DEADLINE_MS,
      });
      dropped += asInteger(reply);
    }
    return dropped;
  }

  /** Renews this gateway's lease; the timers call it, tests may too. */
  async renewLease(): Promise<void> {
    await this.#call(() => this.#redis.set(this.#leaseKeys.lease, '1', 'PX', this.#leaseMs));
  }

  /**
   * Gives back the budget amounts of holds whose gateway's lease is gone, once each however
   * many gateways sweep at once; resolves to how many holds. Rate-limit units are not given
   * back: the buckets refill on their own. The timers call it, tests may too.
   */
  async releaseOrphans(): Promise<number> {
    const { owners, leaseStart, ownedStart, holdStart } = this.#leaseKeys;
    const args = [leaseStart, ownedStart, holdStart, this.#prefix, this.#gatewayId];
    const reply = await this.#call(() => this.#scripts.releaseOrphans([owners], args), {
      deadlineMs: SCAN_DEADLINE_MS,
    });
    return asInteger(reply);
  }

  /**
   * Adds charges counted elsewhere (by the failover store during an outage) in one call. The
   * batch id makes a retried call, whose first try may have landed, count once.
   */
  async apply(batchId: string, charges: readonly AppliedCharge[], nowMs: number): Promise<void> {
    const keys: string[] = [];
    const args = [this.#nowArg(nowMs), String(BATCH_TTL_MS)];
    for (const charge of charges) {
      if (charge.kind === 'budget') {
        const ttl = Math.ceil(charge.expiresAtMs - nowMs);
        // The period is over: nobody reads that instance any more.
        if (ttl <= 0) continue;
        keys.push(this.#key(charge.key));
        args.push('b', ...toParts(charge.amount), String(ttl), String(charge.expiresAtMs));
      } else {
        keys.push(this.#key(charge.key));
        const { capacity, refillPerMs } = charge.config;
        args.push('r', String(charge.units), String(capacity), String(refillPerMs), '');
      }
    }
    if (keys.length === 0) return;
    keys.push(this.#key(`a\u0000${batchId}`));
    await this.#call(() => this.#scripts.apply(keys, args));
  }

  /** A fresh id for a reconcile batch. */
  newBatchId(): string {
    return this.#newId();
  }

  /**
   * Resolves when Redis answers a PING; throws {@link StoreUnreachableError} otherwise. A
   * connection that stays open but answers nothing (a dropped network path) is replaced after a
   * few silent pings: the kernel would take many minutes to give up on it.
   */
  async ping(): Promise<void> {
    try {
      await this.#call(() => this.#redis.ping());
      this.#silentPings = 0;
    } catch (err) {
      if ((err as Error).cause instanceof DeadlineError && ++this.#silentPings >= SILENT_PINGS) {
        this.#silentPings = 0;
        this.#redis.disconnect(true);
      }
      throw err;
    }
  }

  /**
   * Calls `listener` each time the connection is ready again after being lost (not the first
   * time): a Redis that restarted may have come back without its data.
   */
  onReconnect(listener: () => void): void {
    let first = this.#redis.status !== 'ready';
    this.#redis.on('ready', () => {
      if (first) first = false;
      else listener();
    });
  }

  /** Resolves true once connected, false when `timeoutMs` passes first. */
  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.#redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.#redis.on('ready', onReady);
    });
  }

  async close(): Promise<void> {
    const renewing = this.#lease.renewing;
    this.#lease.stop();
    if (this.#redis.status === 'end') return;
    // Holds still open when the process goes are nobody's: other gateways give them back at
    // their next sweep instead of a lease later.
    if (renewing) await this.#call(() => this.#redis.del(this.#leaseKeys.lease)).catch(() => 0);
    // QUIT waits for replies in flight; a dead server would make it wait forever.
    const quit = this.#redis.quit().catch(() => undefined);
    const timer = new Promise((resolve) => setTimeout(resolve, 500).unref());
    await Promise.race([quit, timer]);
    this.#redis.disconnect();
  }

  async #settle(
    reservation: Reservation,
    actual: readonly (Pico | number)[] | null,
    nowMs: number,
  ): Promise<{ applied: boolean; after: (BudgetState | null)[] }> {
    const { holdId } = reservation as Partial<RedisReservation>;
    if (holdId === undefined) throw new TypeError('this reservation was not made by this store');
    const { items } = reservation;
    const keys = items.map((item) => this.#key(item.key));
    keys.push(this.#leaseKeys.owned, this.#holdKey(holdId));
    const args = [this.#nowArg(nowMs), holdId];
    items.forEach((item, i) => {
      const used = actual?.[i];
      if (item.kind === 'budget') {
        const [cu, cp] = toParts(typeof used === 'bigint' ? minPico(used, MAX_CHARGE_PICO) : 0n);
        args.push('b', ...toParts(heldAmount(item)), cu, cp);
      } else {
        const units = typeof used === 'number' ? used : 0;
        const { capacity, refillPerMs } = item.config;
        args.push('r', String(item.cost), String(units), String(capacity), String(refillPerMs));
      }
    });

    const reply = (await this.#call(() => this.#scripts.settle(keys, args))) as unknown[];
    const after = items.map((): BudgetState | null => null);
    // 0: this hold was settled before (a replay after an outage) and must not count twice.
    if (asInteger(reply[0]) === 0) return { applied: false, after };
    items.forEach((item, i) => {
      const at = 1 + i * 5;
      if (item.kind !== 'budget' || asInteger(reply[at]) === 0) return;
      after[i] = {
        committed: fromParts(reply[at + 1], reply[at + 2]),
        reserved: fromParts(reply[at + 3], reply[at + 4]),
      };
    });
    return { applied: true, after };
  }

  #reserveResult(reply: unknown, reservation: RedisReservation): ReserveResult {
    const fields = reply as unknown[];
    const now = asDouble(fields[1]);
    const { items } = reservation;
    const states: ItemState[] = new Array<ItemState>(items.length);
    let rejected: number[] | null = null;
    items.forEach((item, i) => {
      const at = 2 + i * 4;
      if (item.kind === 'budget') {
        const state = {
          committed: fromParts(fields[at], fields[at + 1]),
          reserved: fromParts(fields[at + 2], fields[at + 3]),
        };
        states[i] = state;
        if (
          item.maxAfter !== null &&
          state.committed + state.reserved + item.amount > item.maxAfter
        ) {
          (rejected ??= []).push(i);
        }
      } else {
        const level = { tokens: asDouble(fields[at]), updatedAtMs: now };
        const decision = checkTokenBucket(level, item.config, item.cost, now);
        states[i] = decision;
        if (!decision.allowed && item.enforce) (rejected ??= []).push(i);
      }
    });

    if (asInteger(fields[0]) === 1) return { ok: true, reservation, states };
    if (rejected === null) throw new TypeError('the reserve script refused without a reason');
    return { ok: false, rejected, states };
  }

  /** Every counter hash under the prefix (hold markers are plain strings; TYPE needs Redis 6). */
  async #scan(): Promise<string[]> {
    const pattern = `${globEscape(this.#prefix)}*`;
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.#call(
        () => this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT, 'TYPE', 'hash'),
        { deadlineMs: SCAN_DEADLINE_MS },
      );
      for (const key of keys) found.add(key);
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  }

  async #call<T>(
    work: () => Promise<T>,
    options: { maybeReserved?: Reservation; deadlineMs?: number } = {},
  ): Promise<T> {
    try {
      return await withDeadline(work(), options.deadlineMs ?? this.#timeoutMs);
    } catch (err) {
      if (isUnavailable(err)) throw new StoreUnreachableError(err, options.maybeReserved);
      throw err;
    }
  }

  #nowArg(nowMs: number): string {
    return this.#redisClock ? '' : String(nowMs);
  }

  #holdKey(id: string): string {
    return this.#key(`h\u0000${id}`);
  }

  /** The Redis key of an engine key: the prefix, then the key made printable. */
  #key(engineKey: string): string {
    return this.#prefix + encodeKey(engineKey);
  }

  #newId(): string {
    return this.#idBase + (this.#nextId++).toString(36);
  }
}
