import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { capturingLogger } from '../../test/support/log-capture.js';
import { deleteUnder, redisClient, uniquePrefix } from '../../test/support/redis.js';
import { budgetItem, bucketItem } from '../../test/support/store-contract.js';
import { FailoverStore } from './failover.js';
import { RedisStore } from './redis.js';
import type { Reservation, ReserveResult } from './store.js';

const admin = redisClient();
const opened: Redis[] = [];
let prefix = uniquePrefix('lease');

afterEach(async () => {
  for (const client of opened.splice(0)) client.disconnect();
  await deleteUnder(admin, prefix);
  prefix = uniquePrefix('lease');
});

afterAll(() => {
  admin.disconnect();
});

/** A gateway's store on a connection of its own; `leaseMs` long keeps its timers out of the way. */
function gateway(leaseMs = 600_000): { store: RedisStore; client: Redis } {
  const client = redisClient();
  opened.push(client);
  const callerClock = { now: () => 0 };
  const store = new RedisStore(client, { prefix, clock: 'caller', callerClock, leaseMs });
  return { store, client };
}

function held(result: ReserveResult): Reservation {
  if (!result.ok) throw new Error(`rejected items ${result.rejected.join(', ')}`);
  return result.reservation;
}

async function counters(): Promise<Record<string, { committed: bigint; reserved: bigint }>> {
  const found = await gateway().store.snapshot();
  return Object.fromEntries(
    found.map((s) => [s.key, { committed: s.committed, reserved: s.reserved }]),
  );
}

const leaseKey = (store: RedisStore) => `${prefix}l:${store.gatewayId}`;

describe('redis leases: a gateway that is gone', () => {
  it('has exactly its held amounts given back once its lease expires', async () => {
    const crashed = gateway(300);
    const survivor = gateway();
    await survivor.store.seed('x', 40n, 3_600_000);
    held(await survivor.store.reserve([budgetItem('x', 3n, 1_000_000_000_000n)], 0));
    held(
      await crashed.store.reserve(
        [budgetItem('x', 1_000_000_000_001n, null), budgetItem('y', 7n, 100n), bucketItem('t', 5)],
        0,
      ),
    );
    held(await crashed.store.reserve([budgetItem('y', 11n, 100n)], 0));
    expect(await counters()).toEqual({
      x: { committed: 40n, reserved: 1_000_000_000_004n },
      y: { committed: 0n, reserved: 18n },
    });

    // SIGKILL: no close, no more renewals.
    crashed.client.disconnect();
    await expect.poll(() => admin.exists(leaseKey(crashed.store)), { timeout: 3_000 }).toBe(0);

    expect(await survivor.store.releaseOrphans()).toBe(2);
    expect(await counters()).toEqual({
      x: { committed: 40n, reserved: 3n },
      y: { committed: 0n, reserved: 0n },
    });
    expect(await admin.exists(`${prefix}g:${crashed.store.gatewayId}`)).toBe(0);
    expect(await admin.smembers(`${prefix}g`)).toEqual([survivor.store.gatewayId]);
    // Nothing left to give back: a second sweep changes nothing.
    expect(await survivor.store.releaseOrphans()).toBe(0);
    expect((await counters()).x).toEqual({ committed: 40n, reserved: 3n });
  });

  it('gives a closed gateway’s open holds back at the next sweep, not a lease later', async () => {
    const stopped = gateway();
    const other = gateway();
    held(await stopped.store.reserve([budgetItem('x', 9n, null)], 0));

    await stopped.store.close();

    expect(await other.store.releaseOrphans()).toBe(1);
    expect((await counters()).x).toEqual({ committed: 0n, reserved: 0n });
  });

  it('is swept once when two gateways sweep at the same moment', async () => {
    const crashed = gateway();
    for (let i = 0; i < 25; i++) {
      held(await crashed.store.reserve([budgetItem('x', 1_000_001n, null)], 0));
    }
    expect((await counters()).x?.reserved).toBe(25_000_025n);
    await admin.del(leaseKey(crashed.store));

    const sweepers = [gateway(), gateway(), gateway()];
    const counts = await Promise.all(sweepers.map(({ store }) => store.releaseOrphans()));

    expect(counts.reduce((a, b) => a + b, 0)).toBe(25);
    expect((await counters()).x).toEqual({ committed: 0n, reserved: 0n });
  });
});

describe('redis leases: a gateway that is alive', () => {
  it('never has its holds given back while it renews its lease', async () => {
    const live = gateway(300);
    const sweeper = gateway();
    const reservation = held(await live.store.reserve([budgetItem('x', 500n, 1_000n)], 0));

    // Three lease lengths, swept all along: the renewals keep the hold.
    const until = Date.now() + 900;
    while (Date.now() < until) {
      expect(await sweeper.store.releaseOrphans()).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await counters()).x).toEqual({ committed: 0n, reserved: 500n });

    expect(await live.store.commit(reservation, [120n], 0)).toEqual([
      { committed: 120n, reserved: 0n },
    ]);
    await live.store.close();
  });

  it('never gives back its own holds, even with its lease lapsed', async () => {
    const paused = gateway();
    held(await paused.store.reserve([budgetItem('x', 5n, null)], 0));
    await admin.del(leaseKey(paused.store));

    expect(await paused.store.releaseOrphans()).toBe(0);
    expect((await counters()).x?.reserved).toBe(5n);
  });
});

describe('redis leases: a gateway paused past its lease, then resumed', () => {
  async function pausedAndSwept(amount: bigint) {
    const paused = gateway();
    const other = gateway();
    const reservation = held(
      await paused.store.reserve([budgetItem('x', amount, 1_000_000n), bucketItem('t', 40)], 0),
    );
    held(await other.store.reserve([budgetItem('x', 3n, 1_000_000n)], 0));
    // SIGSTOP for longer than a lease: the lease key expires, the other gateway sweeps.
    await admin.del(leaseKey(paused.store));
    expect(await other.store.releaseOrphans()).toBe(1);
    expect((await counters()).x).toEqual({ committed: 0n, reserved: 3n });
    return { paused, reservation };
  }

  it('adds what it commits and takes back no reservation a second time', async () => {
    const { paused, reservation } = await pausedAndSwept(600n);

    const settled = await paused.store.settleTracked(reservation, [250n, 10], 0);

    expect(settled).toEqual({ applied: true, after: [{ committed: 250n, reserved: 3n }, null] });
    // The bucket got its unused 30 units back: the sweep leaves buckets alone.
    expect(Number(await admin.hget(`${prefix}t`, 't'))).toBeCloseTo(140, 6);
    // A replay of the same commit (an answer lost) counts nothing.
    expect(await paused.store.settleTracked(reservation, [250n, 10], 0)).toEqual({
      applied: false,
      after: [null, null],
    });
    expect((await counters()).x).toEqual({ committed: 250n, reserved: 3n });
    expect(await admin.keys(`${prefix}h:*`)).toHaveLength(1);
  });

  it('changes no budget counter when it releases instead', async () => {
    const { paused, reservation } = await pausedAndSwept(600n);

    await paused.store.release(reservation, 0);

    expect((await counters()).x).toEqual({ committed: 0n, reserved: 3n });
  });

  it('is charged once through the failover store, not again as a lost reservation', async () => {
    const client = redisClient();
    opened.push(client);
    const clock = fakeClock(0);
    const remote = new RedisStore(client, { prefix, clock: 'caller', leaseMs: 600_000 });
    const { logger } = capturingLogger();
    const store = new FailoverStore({ remote, rule: 'fail_open', logger, clock });
    const reservation = held(await store.reserve([budgetItem('x', 600n, 1_000_000n)], 0));
    await admin.del(leaseKey(remote));
    expect(await gateway().store.releaseOrphans()).toBe(1);

    expect(await store.commit(reservation, [250n], 0)).toEqual([{ committed: 250n, reserved: 0n }]);
    // Closing sends any charge still queued (a commit taken as lost would be one).
    await store.close();

    expect((await counters()).x).toEqual({ committed: 250n, reserved: 0n });
  });
});
