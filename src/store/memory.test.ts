import { describe, expect, it } from 'vitest';
import { budgetItem, bucketItem, counterStoreContract } from '../../test/support/store-contract.js';
import { MemoryStore } from './memory.js';

counterStoreContract('memory store', { make: () => new MemoryStore() });

describe('memory store: housekeeping', () => {
  it('forgets swept instances and buckets entirely', async () => {
    const store = new MemoryStore();
    const result = await store.reserve([budgetItem('a', 5n, 100n, 1_000), bucketItem('t', 100)], 0);
    if (!result.ok) throw new Error('rejected');
    await store.commit(result.reservation, [5n, 100], 0);

    await store.sweep(60_000);

    expect(store.size).toEqual({ budgets: 0, buckets: 0 });
  });

  it('sweeps old periods on its own once a minute, during a reserve', async () => {
    const store = new MemoryStore();
    const result = await store.reserve([budgetItem('a', 5n, 100n, 1_000)], 0);
    if (!result.ok) throw new Error('rejected');
    await store.commit(result.reservation, [5n], 0);

    await store.reserve([budgetItem('b', 1n, null)], 60_000);

    expect(await store.snapshot()).toEqual([{ key: 'b', committed: 0n, reserved: 1n }]);
  });
});
