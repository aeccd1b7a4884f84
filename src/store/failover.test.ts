import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { capturingLogger, eventsOf } from '../../test/support/log-capture.js';
import { redisClient, uniquePrefix } from '../../test/support/redis.js';
import { startOwnedRedis, type OwnedRedis } from '../../test/support/redis-server.js';
import { budgetItem } from '../../test/support/store-contract.js';
import { FailoverStore, StoreDownError } from './failover.js';
import { connectRedis } from './redis-connection.js';
import { parseRedisCountersUrl } from './redis-url.js';
import { RedisStore } from './redis.js';
import type { ReserveResult } from './store.js';

let server: OwnedRedis;
let prefix: string;

beforeAll(async () => {
  server = await startOwnedRedis();
});

afterAll(async () => {
  await server.destroy();
});

beforeEach(() => {
  prefix = uniquePrefix('failover');
});

function open(rule: 'fail_open' | 'fail_closed') {
  const clock = fakeClock(0);
  const spec = parseRedisCountersUrl(
    `redis://127.0.0.1:${server.port}/0?prefix=${encodeURIComponent(prefix)}&clock=caller`,
  );
  const remote = new RedisStore(connectRedis(spec), {
    prefix: spec.prefix,
    clock: 'caller',
    callerClock: clock,
  });
  const { logger, lines } = capturingLogger();
  const store = new FailoverStore({ remote, rule, logger, clock, probeIntervalMs: 25 });
  return { store, lines };
}

/** What Redis itself holds, read over a connection of the test's own. */
async function inRedis(): Promise<Map<string, { committed: bigint; reserved: bigint }>> {
  const client: Redis = redisClient(server.port);
  const found = await new RedisStore(client, { prefix, clock: 'caller' }).snapshot();
  client.disconnect();
  return new Map(found.map((s) => [s.key, { committed: s.committed, reserved: s.reserved }]));
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function held(result: ReserveResult) {
  if (!result.ok) throw new Error('rejected');
  return result.reservation;
}

describe('failover store: fail_open', () => {
  it('enforces on local counters while Redis is down and adds what they charged once it is back', async () => {
    const { store, lines } = open('fail_open');
    const before = await store.reserve([budgetItem('a', 60n, 100n)], 0);
    await store.commit(held(before), [60n], 0);
    const openAtSwitch = held(await store.reserve([budgetItem('b', 10n, 100n)], 0));

    await server.stop();
    const during = await store.reserve([budgetItem('a', 30n, 100n)], 0);
    // Local counters start from Redis's last answer: 60 + 30 + 20 would pass 100.
    const refused = await store.reserve([budgetItem('a', 20n, 100n)], 0);
    await store.commit(held(during), [25n], 0);
    await store.commit(openAtSwitch, [7n], 0);
    await server.start();
    await until(() => !store.down, 'the store is up');
    const after = await store.reserve([budgetItem('a', 1n, null)], 0);

    expect(before.local).toBeUndefined();
    expect(during.local).toBe(true);
    expect(refused.ok).toBe(false);
    expect(after.local).toBeUndefined();
    expect(await inRedis()).toEqual(
      new Map([
        ['a', { committed: 85n, reserved: 1n }],
        ['b', { committed: 7n, reserved: 0n }],
      ]),
    );
    expect(eventsOf(lines)).toEqual(['store.down', 'store.up']);
    expect(lines[0]).toMatchObject({ level: 40, rule: 'fail_open' });
    await store.close();
  });

  it('settles locally a reservation made during the outage, after Redis is back', async () => {
    const { store } = open('fail_open');
    await store.reserve([budgetItem('a', 1n, null)], 0);

    await server.stop();
    const during = held(await store.reserve([budgetItem('a', 40n, 100n)], 0));
    await server.start();
    await until(() => !store.down, 'the store is up');
    await store.commit(during, [33n], 0);

    // The local commit is sent to Redis in the background, right after it is made.
    await expect
      .poll(async () => (await inRedis()).get('a'), { timeout: 2_000 })
      .toEqual({ committed: 33n, reserved: 1n });
    await store.close();
  });

  it('gives back a reserve whose answer was lost, once a hung Redis answers again', async () => {
    const { store, lines } = open('fail_open');
    await store.reserve([budgetItem('a', 1n, null)], 0);

    server.pause();
    const during = await store.reserve([budgetItem('a', 5n, 100n)], 0);
    server.resume();
    await until(() => !store.down, 'the store is up');

    // The first try reached Redis and was counted there; the store released it, and the
    // request was charged on local counters instead.
    expect(during.local).toBe(true);
    expect((await inRedis()).get('a')).toEqual({ committed: 0n, reserved: 1n });
    expect(eventsOf(lines)).toEqual(['store.down', 'store.up']);
    await store.close();
  });
});

describe('failover store: fail_closed', () => {
  it('refuses to reserve while Redis is down and serves again once it is back', async () => {
    const { store, lines } = open('fail_closed');
    await store.reserve([budgetItem('a', 1n, null)], 0);

    await server.stop();
    const down = await store.reserve([budgetItem('a', 5n, 100n)], 0).catch((err: unknown) => err);
    const again = await store.reserve([budgetItem('a', 5n, 100n)], 0).catch((err: unknown) => err);
    await server.start();
    await until(() => !store.down, 'the store is up');
    const after = await store.reserve([budgetItem('a', 5n, 100n)], 0);

    expect(down).toBeInstanceOf(StoreDownError);
    expect(again).toBeInstanceOf(StoreDownError);
    expect(after.ok).toBe(true);
    expect(eventsOf(lines)).toEqual(['store.down', 'store.up']);
    expect(lines[0]).toMatchObject({ level: 50, rule: 'fail_closed' });
    await store.close();
  });
});
