/**
 * The counter-store contract: one suite every implementation passes (the memory store, the Redis
 * store). Times are the caller's (`nowMs`), so a Redis store under test runs with `clock:
 * 'caller'`. It lives in test/support rather than src/ because it imports vitest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bucketConfig, type TokenBucketDecision } from '../../src/policy/token-bucket.js';
import type {
  BucketItem,
  BudgetItem,
  CounterStore,
  InstanceSnapshot,
  ReserveResult,
} from '../../src/store/store.js';

/** How a suite run gets a fresh, empty store and gets rid of it. */
export type StoreFactory = {
  make(): Promise<CounterStore> | CounterStore;
  dispose?(store: CounterStore): Promise<void>;
};

/** Long enough that a real-time expiry (Redis) never fires while a test runs. */
const HOUR = 3_600_000;

/** A budget charge; the instance expires an hour in. */
export const budgetItem = (
  key: string,
  amount: bigint,
  maxAfter: bigint | null,
  expiresAtMs = HOUR,
): BudgetItem => ({ kind: 'budget', key, amount, maxAfter, expiresAtMs });

/** A token-bucket charge of `cost` against a `kind` limit of `limit`. */
export const bucketItem = (
  key: string,
  cost: number,
  limit = 150,
  enforce = true,
  kind: 'tpm' | 'rpm' | 'tpd' = 'tpm',
): BucketItem => ({ kind: 'bucket', key, cost, config: bucketConfig(kind, limit), enforce });

function okOf(result: ReserveResult) {
  if (!result.ok) throw new Error(`rejected items ${result.rejected.join(', ')}`);
  return result;
}

const sorted = (snapshot: readonly InstanceSnapshot[]) =>
  [...snapshot].sort((a, b) => (a.key < b.key ? -1 : 1));

/** Registers the contract suite for one store implementation. */
export function counterStoreContract(name: string, factory: StoreFactory): void {
  const opened: CounterStore[] = [];
  const open = async (): Promise<CounterStore> => {
    const store = await factory.make();
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await factory.dispose?.(store);
  });

  describe(`${name}: all-or-nothing reserve`, () => {
    it('charges nothing when a second budget refuses', async () => {
      const store = await open();

      const result = await store.reserve([budgetItem('a', 5n, 100n), budgetItem('b', 5n, 4n)], 0);

      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.rejected).toEqual([1]);
      expect(await store.snapshot()).toEqual([]);
    });

    it('reports every item that refused', async () => {
      const store = await open();

      const result = await store.reserve(
        [budgetItem('a', 5n, 4n), budgetItem('b', 5n, 100n), bucketItem('t', 151)],
        0,
      );

      expect(result.ok ? [] : result.rejected).toEqual([0, 2]);
    });

    it('charges no budget when a bucket refuses', async () => {
      const store = await open();
      await store.reserve([bucketItem('t', 100)], 0);

      const result = await store.reserve([budgetItem('a', 5n, 100n), bucketItem('t', 100)], 0);

      expect(result.ok).toBe(false);
      expect(await store.snapshot()).toEqual([]);
    });

    it('charges no bucket when a budget refuses', async () => {
      const store = await open();
      await store.reserve([bucketItem('t', 100), budgetItem('a', 5n, 4n)], 0);

      const result = okOf(await store.reserve([bucketItem('t', 100)], 0));

      expect((result.states[0] as TokenBucketDecision).remaining).toBe(50);
    });

    it('never rejects an item without a bound', async () => {
      const store = await open();

      const result = await store.reserve([budgetItem('a', 500n, null)], 0);

      expect(result.ok).toBe(true);
      expect(await store.snapshot()).toEqual([{ key: 'a', committed: 0n, reserved: 500n }]);
    });

    it('returns the counters it decided on, from before the charge', async () => {
      const store = await open();
      await store.seed('a', 30n, HOUR);
      await store.reserve([budgetItem('a', 7n, 100n)], 0);

      const result = await store.reserve([budgetItem('a', 5n, 100n)], 0);

      expect(result.states).toEqual([{ committed: 30n, reserved: 7n }]);
    });

    it('rejects a charge that would pass the bound by one pico-dollar, and takes one that meets it', async () => {
      const store = await open();
      await store.seed('a', 60n, HOUR);

      const over = await store.reserve([budgetItem('a', 41n, 100n)], 0);
      const exact = await store.reserve([budgetItem('a', 40n, 100n)], 0);

      expect(over.ok).toBe(false);
      expect(exact.ok).toBe(true);
    });

    it('answers a bucket check with its remaining units and waits', async () => {
      const store = await open();
      await store.reserve([bucketItem('t', 100)], 0);

      const refused = await store.reserve([bucketItem('t', 100)], 10_000);

      expect(refused.ok).toBe(false);
      // 50 left + 10 s at 150/min = 75; 25 more take 10 s; full again in 30 s.
      expect(refused.states[0]).toMatchObject({
        allowed: false,
        remaining: 75,
        retryAfterSeconds: 10,
        resetSeconds: 30,
      });
    });

    it('counts traffic a shadow bucket would have refused', async () => {
      const store = await open();
      await store.reserve([bucketItem('t', 100, 150, false)], 0);

      const shadow = okOf(await store.reserve([bucketItem('t', 100, 150, false)], 0));
      const enforced = await store.reserve([bucketItem('t', 1)], 0);

      expect((shadow.states[0] as TokenBucketDecision).allowed).toBe(false);
      // 150 - 100 - 100: the bucket is 50 in debt, so even one unit waits.
      expect(enforced.ok).toBe(false);
      expect(enforced.states[0]).toMatchObject({ remaining: 0, retryAfterSeconds: 21 });
    });
  });

  describe(`${name}: commit and release`, () => {
    it('replaces the reservation with the actual cost', async () => {
      const store = await open();
      const result = okOf(await store.reserve([budgetItem('a', 50n, 100n)], 0));

      const after = await store.commit(result.reservation, [20n], 0);

      expect(after).toEqual([{ committed: 20n, reserved: 0n }]);
      expect(await store.snapshot()).toEqual([{ key: 'a', committed: 20n, reserved: 0n }]);
    });

    it('commits more than was reserved when the response cost more', async () => {
      const store = await open();
      const result = okOf(await store.reserve([budgetItem('a', 50n, 100n)], 0));

      const after = await store.commit(result.reservation, [73n], 0);

      expect(after).toEqual([{ committed: 73n, reserved: 0n }]);
    });

    it('commits every budget of a request and answers null for buckets', async () => {
      const store = await open();
      const first = okOf(await store.reserve([budgetItem('a', 9n, 100n)], 0));
      const result = okOf(
        await store.reserve(
          [budgetItem('a', 50n, 100n), budgetItem('b', 50n, null), bucketItem('t', 10)],
          0,
        ),
      );

      const after = await store.commit(result.reservation, [31n, 31n, 10], 0);

      expect(after).toEqual([
        { committed: 31n, reserved: 9n },
        { committed: 31n, reserved: 0n },
        null,
      ]);
      await store.release(first.reservation, 0);
    });

    it('gives a released reservation back', async () => {
      const store = await open();
      const result = okOf(
        await store.reserve([budgetItem('a', 50n, 100n), bucketItem('t', 100)], 0),
      );

      await store.release(result.reservation, 0);

      expect(await store.snapshot()).toEqual([{ key: 'a', committed: 0n, reserved: 0n }]);
      expect((await store.reserve([bucketItem('t', 150)], 0)).ok).toBe(true);
    });

    it('returns unused bucket units at commit and charges an overrun', async () => {
      const store = await open();
      const small = okOf(await store.reserve([bucketItem('t', 100)], 0));
      await store.commit(small.reservation, [40], 0);
      const big = okOf(await store.reserve([bucketItem('t', 100)], 0));

      await store.commit(big.reservation, [130], 0);
      const next = await store.reserve([bucketItem('t', 1)], 0);

      // 150 - 40 - 130 = -20: in debt, 21 units of refill to wait for (8.4 s).
      expect(next.ok).toBe(false);
      expect(next.states[0]).toMatchObject({ remaining: 0, retryAfterSeconds: 9 });
    });
  });

  describe(`${name}: concurrency`, () => {
    it('lets 100 parallel reserves against one budget take no more than its bound', async () => {
      const store = await open();

      const results = await Promise.all(
        Array.from({ length: 100 }, () => store.reserve([budgetItem('a', 13n, 1_000n)], 0)),
      );

      // 76 × 13 = 988; a 77th would make 1,001.
      expect(results.filter((r) => r.ok)).toHaveLength(76);
      expect(await store.snapshot()).toEqual([{ key: 'a', committed: 0n, reserved: 988n }]);
    });

    it('admits in parallel only what every budget and bucket of the request can hold', async () => {
      const store = await open();

      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          store.reserve(
            [
              budgetItem('a', 10n, 500n),
              budgetItem('b', 10n, 300n),
              bucketItem('r', 1, 50, true, 'rpm'),
            ],
            0,
          ),
        ),
      );

      expect(results.filter((r) => r.ok)).toHaveLength(30);
      expect(sorted(await store.snapshot())).toEqual([
        { key: 'a', committed: 0n, reserved: 300n },
        { key: 'b', committed: 0n, reserved: 300n },
      ]);
    });

    it('sums parallel commits exactly', async () => {
      const store = await open();
      const held = await Promise.all(
        Array.from({ length: 100 }, () => store.reserve([budgetItem('a', 1_000_003n, null)], 0)),
      );

      await Promise.all(
        held.map((r, i) => store.commit(okOf(r).reservation, [BigInt(2 * i + 1)], 0)),
      );

      // 1 + 3 + … + 199 = 100².
      expect(await store.snapshot()).toEqual([{ key: 'a', committed: 10_000n, reserved: 0n }]);
    });
  });

  describe(`${name}: pico-dollar precision`, () => {
    it('ends a $1,000,000 budget charged in odd pico-dollar amounts exactly at its limit', async () => {
      const store = await open();
      const limit = 1_000_000n * 10n ** 12n;
      const charge = 1_001_001_001_001_001n;
      let committed = 0n;
      for (let i = 0; i < 999; i++) {
        const held = okOf(await store.reserve([budgetItem('a', charge, limit)], 0));
        const [after] = await store.commit(held.reservation, [charge], 0);
        committed = (after as { committed: bigint }).committed;
      }
      const left = limit - committed;

      const over = await store.reserve([budgetItem('a', left + 1n, limit)], 0);
      const last = okOf(await store.reserve([budgetItem('a', left, limit)], 0));
      const [after] = await store.commit(last.reservation, [left], 0);

      expect(committed).toBe(999n * charge);
      expect(over.ok).toBe(false);
      expect(after).toEqual({ committed: limit, reserved: 0n });
    });

    it('keeps reservations and releases of large odd amounts exact', async () => {
      const store = await open();
      const a = okOf(await store.reserve([budgetItem('a', 123_456_789_012_345_679n, null)], 0));
      const b = okOf(await store.reserve([budgetItem('a', 987_654_321_098_765_431n, null)], 0));

      await store.release(a.reservation, 0);
      await store.commit(b.reservation, [987_654_321_098_765_429n], 0);

      expect(await store.snapshot()).toEqual([
        { key: 'a', committed: 987_654_321_098_765_429n, reserved: 0n },
      ]);
    });
  });

  describe(`${name}: seed`, () => {
    it('sets a new instance’s committed spend', async () => {
      const store = await open();

      await store.seed('a', 90_000_000_000_001n, HOUR);

      expect(await store.snapshot()).toEqual([
        { key: 'a', committed: 90_000_000_000_001n, reserved: 0n },
      ]);
    });

    it('enforces the bound over seeded spend', async () => {
      const store = await open();
      await store.seed('a', 95n, HOUR);

      const refused = await store.reserve([budgetItem('a', 6n, 100n)], 0);
      const fits = await store.reserve([budgetItem('a', 5n, 100n)], 0);

      expect(refused.ok).toBe(false);
      expect(fits.ok).toBe(true);
    });
  });

  describe(`${name}: expiry`, () => {
    it('drops instances whose period is over and full buckets', async () => {
      const store = await open();
      const result = okOf(
        await store.reserve([budgetItem('a', 5n, 100n, 30_000), bucketItem('t', 100)], 0),
      );
      await store.commit(result.reservation, [5n, 100], 0);

      // The bucket is full again at 40 s, the instance over at 30 s.
      expect(await store.sweep(29_999)).toBe(0);
      expect(await store.sweep(60_000)).toBe(2);
      expect(await store.snapshot()).toEqual([]);
    });

    it('keeps an expired instance while a reservation is still open on it', async () => {
      const store = await open();
      await store.reserve([budgetItem('a', 5n, 100n, 30_000)], 0);

      expect(await store.sweep(40_000)).toBe(0);
      expect(await store.snapshot()).toEqual([{ key: 'a', committed: 0n, reserved: 5n }]);
    });

    it('starts a bucket over once it has refilled', async () => {
      const store = await open();
      await store.reserve([bucketItem('t', 150)], 0);

      const refused = await store.reserve([bucketItem('t', 150)], 59_999);
      const refilled = okOf(await store.reserve([bucketItem('t', 150)], 60_000));

      expect(refused.ok).toBe(false);
      expect((refilled.states[0] as TokenBucketDecision).remaining).toBe(0);
    });
  });
}
