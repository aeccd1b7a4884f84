import { execFileSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHARED_REDIS_PORT,
  deleteUnder,
  keysUnder,
  redisClient,
  uniquePrefix,
} from '../../test/support/redis.js';
import { budgetItem, bucketItem, counterStoreContract } from '../../test/support/store-contract.js';
import { budgetInstanceKey, budgetKeyPrefix, bucketKeyPrefix } from '../engine/keys.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { CounterStore, Reservation, ReserveItem, ReserveResult } from './store.js';

let redis: Redis;
const prefixes: string[] = [];

function callerStore(prefix = uniquePrefix('store')): RedisStore {
  prefixes.push(prefix);
  return new RedisStore(redis, { prefix, clock: 'caller', callerClock: { now: () => 0 } });
}

beforeAll(() => {
  redis = redisClient();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteUnder(redis, prefix);
  redis.disconnect();
});

counterStoreContract('redis store', {
  make: () => callerStore(),
  dispose: async (store) => {
    await deleteUnder(redis, (store as RedisStore).prefix);
  },
});

/** A small deterministic PRNG, so a failing sequence can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const comparable = (result: ReserveResult) =>
  result.ok
    ? { ok: true, states: result.states }
    : { ok: false, rejected: result.rejected, states: result.states };

describe('redis store: parity with the memory store', () => {
  it('answers a random run of reserves, commits and releases exactly as the memory store', async () => {
    const memory = new MemoryStore();
    const store = callerStore();
    const random = prng(20_260_101);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const catalogue = (): ReserveItem[] => [
      budgetItem('day', BigInt(Math.floor(random() * 3_000_000_000_001)), 40_000_000_000_000n),
      budgetItem('shadow', BigInt(Math.floor(random() * 1_000)), null),
      bucketItem('tpm', Math.floor(random() * 400), 1_000),
      bucketItem('rpm', 1, 6, true, 'rpm'),
      bucketItem('tpd', Math.floor(random() * 900), 20_000, false, 'tpd'),
    ];
    const open: [Reservation, Reservation][] = [];
    const outcomes = { admitted: 0, refused: 0 };
    let nowMs = 0;

    for (let step = 0; step < 300; step++) {
      nowMs += Math.floor(random() * 4_000);
      const roll = random();
      if (roll < 0.55 || open.length === 0) {
        const items = catalogue().filter(() => random() < 0.7);
        if (items.length === 0) continue;
        const a = await memory.reserve(items, nowMs);
        const b = await store.reserve(items, nowMs);
        expect(comparable(b)).toEqual(comparable(a));
        outcomes[a.ok ? 'admitted' : 'refused']++;
        if (a.ok && b.ok) open.push([a.reservation, b.reservation]);
      } else {
        const [a, b] = open.splice(Math.floor(random() * open.length), 1)[0] as [
          Reservation,
          Reservation,
        ];
        if (roll < 0.85) {
          const actual = a.items.map((item) =>
            item.kind === 'budget'
              ? BigInt(Math.floor(random() * Number(item.amount) * 1.2))
              : pick([0, item.cost, Math.floor(item.cost * 1.5)]),
          );
          expect(await store.commit(b, actual, nowMs)).toEqual(
            await memory.commit(a, actual, nowMs),
          );
        } else {
          await memory.release(a, nowMs);
          await store.release(b, nowMs);
        }
      }
    }

    // The run must exercise both answers, or it proves little.
    expect(outcomes.admitted).toBeGreaterThan(30);
    expect(outcomes.refused).toBeGreaterThan(30);
    const byKey = (s: Awaited<ReturnType<CounterStore['snapshot']>>) =>
      [...s].sort((x, y) => (x.key < y.key ? -1 : 1));
    expect(byKey(await store.snapshot())).toEqual(byKey(await memory.snapshot()));
  });
});

describe('redis store: keys and expiry', () => {
  it('keeps each counter under the prefix, expiring with its period and after a refill', async () => {
    const store = callerStore();
    const nowMs = 1_000;

    const held = await store.reserve(
      [budgetItem('a', 1_000_000_000_001n, null, nowMs + 7_200_000), bucketItem('t', 100)],
      nowMs,
    );
    const keys = (await keysUnder(redis, store.prefix)).map((k) => k.slice(store.prefix.length));

    const gateway = store.gatewayId;
    expect(keys.sort()).toEqual([
      'a',
      'g',
      `g:${gateway}`,
      expect.stringMatching(/^h:/),
      `l:${gateway}`,
      't',
    ]);
    // The hold is registered under this gateway with the budget amount it added.
    const holdId = (keys.find((k) => k.startsWith('h:')) as string).slice(2);
    expect(await redis.hgetall(`${store.prefix}g:${gateway}`)).toEqual({ [holdId]: 'a 1000000 1' });
    expect(await redis.get(`${store.prefix}h:${holdId}`)).toBe(gateway);
    const leaseTtl = await redis.pttl(`${store.prefix}l:${gateway}`);
    expect(leaseTtl).toBeGreaterThan(14_000);
    expect(leaseTtl).toBeLessThanOrEqual(15_000);
    expect(await redis.hgetall(`${store.prefix}a`)).toEqual({
      ru: '1000000',
      rp: '1',
      x: '7201000',
    });
    const budgetTtl = await redis.pttl(`${store.prefix}a`);
    expect(budgetTtl).toBeGreaterThan(7_190_000);
    expect(budgetTtl).toBeLessThanOrEqual(7_200_000);
    // 100 of 150 used at 150 a minute: full in 40 s, dropped a minute after that.
    const bucketTtl = await redis.pttl(`${store.prefix}t`);
    expect(bucketTtl).toBeGreaterThan(90_000);
    expect(bucketTtl).toBeLessThanOrEqual(100_000);

    if (!held.ok) throw new Error('rejected');
    await store.commit(held.reservation, [5n, 100], nowMs);
    expect(await keysUnder(redis, `${store.prefix}h:`)).toEqual([]);
    expect(await keysUnder(redis, `${store.prefix}g:`)).toEqual([]);
  });

  it('never writes a key for a reserve that was refused', async () => {
    const store = callerStore();

    await store.reserve(
      [budgetItem('a', 5n, 100n), budgetItem('b', 5n, 1n), bucketItem('t', 1)],
      0,
    );

    expect(await keysUnder(redis, store.prefix)).toEqual([]);
  });
});

describe('redis store: shared by several gateways', () => {
  it('lets a second gateway on the same prefix see the first one’s reservations', async () => {
    const prefix = uniquePrefix('shared');
    const other = redisClient();
    const first = callerStore(prefix);
    const second = new RedisStore(other, { prefix, clock: 'caller' });

    await first.reserve([budgetItem('a', 60n, 100n)], 0);
    const refused = await second.reserve([budgetItem('a', 41n, 100n)], 0);

    expect(refused.ok).toBe(false);
    expect(refused.states).toEqual([{ committed: 0n, reserved: 60n }]);
    other.disconnect();
  });

  it('refills buckets on Redis’s clock, whatever time each gateway thinks it is', async () => {
    const prefix = uniquePrefix('clock');
    prefixes.push(prefix);
    const other = redisClient();
    const onTime = new RedisStore(redis, { prefix, clock: 'redis' });
    const anHourAhead = new RedisStore(other, { prefix, clock: 'redis' });

    await onTime.reserve([bucketItem('t', 100)], 0);
    const result = await anHourAhead.reserve([bucketItem('t', 100)], 3_600_000);

    // On its own clock the bucket would be full again; on Redis's it holds 50 (and some ms).
    expect(result.ok).toBe(false);
    expect(result.states[0]).toMatchObject({ allowed: false, remaining: 50 });
    other.disconnect();
  });

  it('keeps the larger committed figure when a gateway seeds from its own ledger', async () => {
    const store = callerStore();

    await store.seed('a', 100n, 60_000);
    await store.seed('a', 50n, 60_000);
    const kept = await store.snapshot();
    await store.seed('a', 150n, 60_000);

    expect(kept).toEqual([{ key: 'a', committed: 100n, reserved: 0n }]);
    expect(await store.snapshot()).toEqual([{ key: 'a', committed: 150n, reserved: 0n }]);
  });

  it('counts a settle once when it is sent again', async () => {
    const store = callerStore();
    const held = await store.reserve([budgetItem('a', 50n, 100n)], 0);
    if (!held.ok) throw new Error('rejected');

    await store.commit(held.reservation, [20n], 0);
    const again = await store.commit(held.reservation, [20n], 0);
    await store.release(held.reservation, 0);

    expect(again).toEqual([null]);
    expect(await store.snapshot()).toEqual([{ key: 'a', committed: 20n, reserved: 0n }]);
  });

  it('applies a batch of outside charges once, however often it is sent', async () => {
    const store = callerStore();
    const charges = [
      { kind: 'budget' as const, key: 'a', amount: 7_000_000_000_000_003n, expiresAtMs: 60_000 },
      { kind: 'bucket' as const, key: 't', units: 100, config: bucketItem('t', 0).config },
    ];

    await store.apply('batch-1', charges, 0);
    await store.apply('batch-1', charges, 0);
    const after = await store.reserve([bucketItem('t', 51)], 0);

    expect(await store.snapshot()).toEqual([
      { key: 'a', committed: 7_000_000_000_000_003n, reserved: 0n },
    ]);
    expect(after.ok).toBe(false);
  });
});

describe('redis store: printable keys', () => {
  const SEP = '\u0000';
  /** Scope values as clients can send them (headers, JWT claims), some built to collide. */
  const hostile = [
    'acme',
    'a:b',
    `a${SEP}b`,
    'a%3Ab',
    'two words',
    'line\nbreak\ttab\r',
    `quotes "'\\`,
    '\u007f\u0085\u009f\u2028\ufeff',
    'lone \ud800 surrogate',
    'é 😀 *?[]',
  ];
  const budgetKeys = hostile.map((v) =>
    budgetInstanceKey(budgetKeyPrefix('org-daily'), 1_741_564_800_000, v),
  );

  /** Every key under `prefix` as Redis holds it, bytes and all. */
  async function rawKeys(prefix: string): Promise<Buffer[]> {
    const found: Buffer[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      found.push(...keys);
      cursor = String(next);
    } while (cursor !== '0');
    return found;
  }

  /** A budget held (open hold), a bucket, a seeded budget and an applied batch. */
  async function writeEveryKind(store: RedisStore): Promise<void> {
    const held = await store.reserve(
      [
        ...budgetKeys.map((key) => budgetItem(key, 5n, null)),
        bucketItem(`${bucketKeyPrefix('per-user', 'tpm')}u${SEP}sp ace`, 10),
      ],
      0,
    );
    if (!held.ok) throw new Error('rejected');
    await store.seed(budgetInstanceKey(budgetKeyPrefix('seeded'), 0, `x${SEP}y`), 7n, 60_000);
    await store.apply(
      store.newBatchId(),
      [
        {
          kind: 'budget',
          key: budgetInstanceKey(budgetKeyPrefix('applied'), 0, 'z'),
          amount: 3n,
          expiresAtMs: 60_000,
        },
      ],
      0,
    );
  }

  it('writes every key as UTF-8 with no control character, space, quote or backslash', async () => {
    const store = callerStore();

    await writeEveryKind(store);
    const keys = await rawKeys(store.prefix);

    // The hostile budgets, the bucket, the hold, the seeded one, the applied one and its batch,
    // and the lease's three: this gateway's lease and hold hash, and the owners set.
    expect(keys.length).toBe(hostile.length + 8);
    for (const raw of keys) {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      expect(text).not.toMatch(/[\p{Cc}\s"'\\]/u);
      expect(Buffer.from(text, 'utf8').equals(raw)).toBe(true);
    }
    expect(keys.map(String)).toContain(`${store.prefix}b:org-daily:1741564800000:a%3Ab`);
  });

  it('reads every engine key back exactly, values that would collide kept apart', async () => {
    const store = callerStore();

    await writeEveryKind(store);
    const snapshot = await store.snapshot();

    const budgets = snapshot
      .map((s) => s.key)
      .filter((k) => k.startsWith(budgetKeyPrefix('org-daily')));
    expect(budgets.sort()).toEqual([...budgetKeys].sort());
    expect(snapshot.find((s) => s.key === budgetKeys[2])).toEqual({
      key: budgetKeys[2],
      committed: 0n,
      reserved: 5n,
    });
  });

  it('leaves keys of the old NUL-separated layout out of snapshots', async () => {
    const store = callerStore();
    await redis.hset(`${store.prefix}b${SEP}old${SEP}0${SEP}acme`, 'cu', '1', 'cp', '0', 'x', '1');

    await store.seed(budgetInstanceKey(budgetKeyPrefix('new'), 0, 'acme'), 2_000_000n, 60_000);

    expect(await store.snapshot()).toEqual([
      {
        key: budgetInstanceKey(budgetKeyPrefix('new'), 0, 'acme'),
        committed: 2_000_000n,
        reserved: 0n,
      },
    ]);
  });

  it('is emptied by redis-cli --scan --pattern piped to xargs redis-cli del', async () => {
    const store = callerStore();
    await writeEveryKind(store);
    const before = (await rawKeys(store.prefix)).length;

    // The cleanup docs/storage.md gives, word for word but for the prefix and port.
    execFileSync(
      'sh',
      [
        '-c',
        `redis-cli -p ${SHARED_REDIS_PORT} --scan --pattern '${store.prefix}*' | xargs -r redis-cli -p ${SHARED_REDIS_PORT} del`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 },
    );

    expect(before).toBe(hostile.length + 8);
    expect(await rawKeys(store.prefix)).toEqual([]);
  });
});
