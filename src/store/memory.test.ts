import { describe, expect, it } from 'vitest';
import { bucketConfig } from '../policy/token-bucket.js';
import { MemoryStore } from './memory.js';
import type { BudgetItem, BucketItem } from './store.js';

const budgetItem = (key: string, amount: bigint, maxAfter: bigint | null): BudgetItem => ({
  kind: 'budget',
  key,
  amount,
  maxAfter,
  expiresAtMs: 1_000,
});
const tpm: BucketItem = {
  kind: 'bucket',
  key: 'tpm',
  cost: 100,
  config: bucketConfig('tpm', 150),
  enforce: true,
};

describe('memory store: all-or-nothing reserve', () => {
  it('charges nothing when a second budget refuses', async () => {
    const store = new MemoryStore();

    const result = await store.reserve([budgetItem('a', 5n, 100n), budgetItem('b', 5n, 4n)], 0);

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.rejected).toEqual([1]);
    expect(await store.snapshot()).toEqual([]);
  });

  it('charges no budget when a bucket refuses', async () => {
    const store = new MemoryStore();
    await store.reserve([tpm], 0);

    const result = await store.reserve([budgetItem('a', 5n, 100n), tpm], 0);

    expect(result.ok).toBe(false);
    expect(await store.snapshot()).toEqual([]);
  });

  it('never rejects an item without a bound', async () => {
    const store = new MemoryStore();

    const result = await store.reserve([budgetItem('a', 500n, null)], 0);

    expect(result.ok).toBe(true);
    expect(await store.snapshot()).toEqual([{ key: 'a', committed: 0n, reserved: 500n }]);
  });

  it('returns the counters it decided on, from before the charge', async () => {
    const store = new MemoryStore();
    await store.seed('a', 30n, 1_000);

    const result = await store.reserve([budgetItem('a', 5n, 100n)], 0);

    expect(result.states).toEqual([{ committed: 30n, reserved: 0n }]);
  });
});

describe('memory store: commit and release', () => {
  it('replaces the reservation with the actual cost', async () => {
    const store = new MemoryStore();
    const result = await store.reserve([budgetItem('a', 50n, 100n)], 0);
    if (!result.ok) throw new Error('rejected');

    const after = await store.commit(result.reservation, [20n], 0);

    expect(after).toEqual([{ committed: 20n, reserved: 0n }]);
  });

  it('gives a released reservation back', async () => {
    const store = new MemoryStore();
    const result = await store.reserve([budgetItem('a', 50n, 100n), tpm], 0);
    if (!result.ok) throw new Error('rejected');

    await store.release(result.reservation, 0);

    expect(await store.snapshot()).toEqual([{ key: 'a', committed: 0n, reserved: 0n }]);
    expect((await store.reserve([tpm], 0)).ok).toBe(true);
  });
});

describe('memory store: expiry', () => {
  it('drops instances whose period is over and full buckets', async () => {
    const store = new MemoryStore();
    const result = await store.reserve([budgetItem('a', 5n, 100n), tpm], 0);
    if (!result.ok) throw new Error('rejected');
    await store.commit(result.reservation, [5n, 100], 0);

    expect(await store.sweep(999)).toBe(0);
    expect(await store.sweep(60_000)).toBe(2);
    expect(store.size).toEqual({ budgets: 0, buckets: 0 });
  });

  it('keeps an expired instance while a reservation is still open on it', async () => {
    const store = new MemoryStore();
    await store.reserve([budgetItem('a', 5n, 100n)], 0);

    expect(await store.sweep(5_000)).toBe(0);
  });
});
