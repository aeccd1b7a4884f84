import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log/logger.js';
import { FailoverStore } from '../../src/store/failover.js';
import { MAX_VALUE_LENGTH } from '../../src/identity/sources.js';
import { RedisStore } from '../../src/store/redis.js';
import { connectRedis } from '../../src/store/redis-connection.js';
import { parseRedisCountersUrl } from '../../src/store/redis-url.js';
import type { BudgetItem, Reservation } from '../../src/store/store.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf } from '../support/budgets.js';
import { decide, reportUsage } from '../support/decision.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { rowOf } from '../support/ledger.js';
import { capturingLogger, eventsOf } from '../support/log-capture.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { deleteUnder, keysUnder, redisClient, uniquePrefix } from '../support/redis.js';
import { startOwnedRedis, type OwnedRedis } from '../support/redis-server.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// The Redis counter store under attack: absurd amounts, a Redis that loses its data or its
// connections while gateways run, huge and many keys, and settles sent twice at once.
// Decisions here are hinted: 1,000 prompt and 1,000 output tokens of gpt-4o ($2.50 / $10 per
// million) reserve $0.0125, and a report of the same usage settles it at $0.0125.
const NOW = Date.parse('2026-03-10T12:00:00Z');
const prefixes: string[] = [];
const shared = redisClient();
let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(1_000, 1_000)),
  });
});

afterAll(async () => {
  await upstream.close();
  for (const prefix of prefixes) await deleteUnder(shared, prefix);
  shared.disconnect();
});

function yaml(counters: string, extra = ''): string {
  return `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
${ADMIN_YAML}
storage: { counters: "${counters}", on_store_down: fail_open }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: team-daily, scope: { team: "*" }, limit_usd: 1, period: 1d }
${extra}`;
}

function sharedCounters(label: string): string {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return `redis://127.0.0.1:6379/0?prefix=${prefix}&timeout_ms=1000`;
}

const HINTS = {
  'x-spendgate-model': 'gpt-4o',
  'x-spendgate-estimate-tokens': '1000',
  'x-spendgate-max-output-tokens': '1000',
};

/** A hinted decision for `team`, reported at once with the same usage; the two statuses. */
async function spend(url: string, team: string): Promise<[number, number | null]> {
  const answer = await decide(url, '/openai/v1/chat/completions', {
    headers: { ...HINTS, 'x-team-id': team },
  });
  if (answer.status !== 200) return [answer.status, null];
  const reported = await reportUsage(url, {
    request_id: answer.headers.get('x-spendgate-request-id'),
    usage: chatUsage(1_000, 1_000),
  });
  return [answer.status, reported.status];
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function spentOf(url: string, team: string): Promise<unknown> {
  const { data } = await budgetsOf(url);
  const entry = data.find((b) => b.scope.team === team);
  return entry && { spent_usd: entry.spent_usd, reserved_usd: entry.reserved_usd };
}

describe('redis counters: amounts too large to count exactly', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(yaml(sharedCounters('absurd')), {
      env: ADMIN_ENV,
      clock: fakeClock(NOW),
    });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('refuses a decision whose estimate passes $9 billion, as in-process counters do', async () => {
    const answer = await decide(gateway.url, '/openai/v1/chat/completions', {
      headers: {
        'x-team-id': 'absurd',
        'x-spendgate-model': 'gpt-4o',
        'x-spendgate-estimate-tokens': String(Number.MAX_SAFE_INTEGER),
      },
    });

    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(row.flags).not.toContain('fail_open');
  });

  it('refuses a proxied request whose max_tokens passes $9 billion, never serving it unheld', async () => {
    const answer = await post(
      `${gateway.url}/openai/v1/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1e15 },
      { 'x-team-id': 'absurd-proxy' },
    );

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(upstream.received).toHaveLength(0);
  });
});

describe('redis counters: hostile keys', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(yaml(sharedCounters('keys')), {
      env: ADMIN_ENV,
      clock: fakeClock(NOW),
    });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('counts a budget whose scope value is 8 KB of glob, space and Latin-1 characters', async () => {
    // Header values are bytes: Latin-1 text, with the NUL-free odd ones a key must survive.
    const team = '\u00e9\u00ff*?[\\]\u00a0'.repeat(1_200);

    const results = [];
    for (let i = 0; i < 81; i++) results.push(await spend(gateway.url, team));

    expect(results.filter(([s]) => s === 200)).toHaveLength(80);
    expect(results.at(-1)).toEqual([429, null]);
    // Attribution keeps the first 200 characters of a value (MAX_VALUE_LENGTH).
    expect(await spentOf(gateway.url, team.slice(0, MAX_VALUE_LENGTH))).toEqual({
      spent_usd: 1,
      reserved_usd: 0,
    });
  });

  it('lists 3,000 distinct budget instances, each with its own spend', async () => {
    const prefix = uniquePrefix('many');
    prefixes.push(prefix);
    const many = new RedisStore(shared, { prefix, clock: 'caller' });
    const items = Array.from({ length: 3_000 }, (_, i): BudgetItem => ({
      kind: 'budget',
      key: `b\u0000team-daily\u00000\u0000org-${i}`,
      amount: BigInt(i + 1),
      maxAfter: 10_000n,
      expiresAtMs: NOW + 3_600_000,
    }));

    await Promise.all(items.map((item) => many.reserve([item], NOW)));
    const listed = await many.snapshot();

    expect(listed).toHaveLength(3_000);
    const total = listed.reduce((sum, s) => sum + s.reserved, 0n);
    expect(total).toBe((3_000n * 3_001n) / 2n);
  });
});

describe('redis counters: settles sent twice at once', () => {
  it('counts a reservation committed and released concurrently exactly once', async () => {
    const prefix = uniquePrefix('twice');
    prefixes.push(prefix);
    const client = redisClient();
    const store = new FailoverStore({
      remote: new RedisStore(client, { prefix, clock: 'caller', timeoutMs: 1_000 }),
      rule: 'fail_open',
      logger: silentLogger(),
      clock: fakeClock(NOW),
    });
    const item: BudgetItem = {
      kind: 'budget',
      key: 'b\u0000x\u00000\u0000t',
      amount: 100n,
      maxAfter: 1_000n,
      expiresAtMs: NOW + 3_600_000,
    };
    const held = await store.reserve([item], NOW);
    if (!held.ok) throw new Error('refused');
    const reservation: Reservation = held.reservation;

    await Promise.all([
      store.commit(reservation, [40n], NOW),
      store.commit(reservation, [40n], NOW),
      store.release(reservation, NOW),
      store.commit(reservation, [90n], NOW),
    ]);

    const [state] = await store.snapshot();
    expect(state?.reserved).toBe(0n);
    // The first settle to arrive wins; the others change nothing.
    expect(state?.committed).toBe(40n);
    // Hold markers are `<prefix>h:<id>` (src/store/redis-keys.ts).
    expect(await keysUnder(client, `${prefix}h:`)).toEqual([]);
    await store.close();
  });
});

describe('redis counters: Redis loses its data while gateways run', () => {
  let redis: OwnedRedis;

  beforeAll(async () => {
    redis = await startOwnedRedis();
  });

  afterAll(async () => {
    await redis.destroy();
  });

  it('still refuses past the limit: the spend seen before the loss is put back', async () => {
    const { logger, lines } = capturingLogger();
    const gateway = await startGateway(
      yaml(`redis://127.0.0.1:${redis.port}/0?prefix=lost:&timeout_ms=200`),
      { env: ADMIN_ENV, clock: fakeClock(NOW), logger },
    );
    try {
      for (let i = 0; i < 60; i++) expect(await spend(gateway.url, 'lossy')).toEqual([200, 200]);
      // Four more allowed whose usage is only reported after the loss took their reservations.
      const open = [];
      for (let i = 0; i < 4; i++) {
        const answer = await decide(gateway.url, '/openai/v1/chat/completions', {
          headers: { ...HINTS, 'x-team-id': 'lossy' },
        });
        open.push(answer.headers.get('x-spendgate-request-id'));
      }

      // No save: the restarted server starts empty, as one without persistence does.
      const pid = redis.pid() as number;
      process.kill(pid, 'SIGKILL');
      await expect.poll(() => isRunning(pid), { timeout: 5_000 }).toBe(false);
      await redis.start();
      await expect
        .poll(async () => (await spend(gateway.url, 'probe'))[0], { timeout: 5_000 })
        .toBe(200);
      await expect.poll(() => eventsOf(lines).includes('store.up'), { timeout: 5_000 }).toBe(true);
      for (const id of open) {
        const reported = await reportUsage(gateway.url, {
          request_id: id,
          usage: chatUsage(1_000, 1_000),
        });
        expect(reported.status).toBe(200);
      }
      const after = [];
      for (let i = 0; i < 40; i++) after.push(await spend(gateway.url, 'lossy'));

      // $0.75 spent before the loss and $0.05 reported after it leave room for 16 more.
      expect(after.filter(([s]) => s === 200)).toHaveLength(16);
      await expect
        .poll(() => spentOf(gateway.url, 'lossy'), { timeout: 2_000 })
        .toEqual({ spent_usd: 1, reserved_usd: 0 });
    } finally {
      await gateway.close();
    }
  });

  it('puts the spend back on a reconnect that no request saw fail', async () => {
    const { logger, lines } = capturingLogger();
    const clock = fakeClock(NOW);
    const spec = parseRedisCountersUrl(
      `redis://127.0.0.1:${redis.port}/0?prefix=quiet:&clock=caller&timeout_ms=500`,
    );
    const store = new FailoverStore({
      remote: new RedisStore(connectRedis(spec), { prefix: 'quiet:', callerClock: clock }),
      rule: 'fail_open',
      logger,
      clock,
    });
    const admin = redisClient(redis.port);
    const item = (amount: bigint): BudgetItem => ({
      kind: 'budget',
      key: 'b\u0000quiet\u00000\u0000t',
      amount,
      maxAfter: 1_000n,
      expiresAtMs: NOW + 3_600_000,
    });
    try {
      const first = await store.reserve([item(700n)], NOW);
      if (!first.ok) throw new Error('refused');
      await store.commit(first.reservation, [700n], NOW);

      // The data goes, then the connection: as a restart between two requests looks.
      await admin.flushall();
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await expect
        .poll(() => eventsOf(lines).includes('store.reconnected'), { timeout: 5_000 })
        .toBe(true);
      const second = await store.reserve([item(400n)], NOW);

      expect(second.ok).toBe(false);
      expect(second.states).toEqual([{ committed: 700n, reserved: 0n }]);
      expect(eventsOf(lines)).not.toContain('store.down');
    } finally {
      admin.disconnect();
      await store.close();
    }
  });

  it('ends with Redis holding exactly the ledger’s spend when connections are cut mid-script', async () => {
    const { logger, lines } = capturingLogger();
    const gateway = await startGateway(
      yaml(`redis://127.0.0.1:${redis.port}/0?prefix=cut:&timeout_ms=200`),
      { env: ADMIN_ENV, clock: fakeClock(NOW), logger },
    );
    const killer = redisClient(redis.port);
    try {
      let cutting = true;
      const cuts = (async () => {
        while (cutting) {
          await killer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes').catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 7));
        }
      })();
      const results = await Promise.all(
        Array.from({ length: 8 }, async (_, lane) => {
          const mine = [];
          for (let i = 0; i < 12; i++) mine.push(await spend(gateway.url, `cut-${lane}`));
          return mine;
        }),
      );
      cutting = false;
      await cuts;
      // The cuts did land on calls in flight: the gateway rode out outages.
      expect(eventsOf(lines)).toContain('store.down');

      // Once Redis is reachable again, every settle is in and nothing is left reserved.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const rows = await gateway.rows();
      for (let lane = 0; lane < 8; lane++) {
        const team = `cut-${lane}`;
        const served = results[lane]!.filter(([, r]) => r === 200).length;
        const cost = rows
          .filter((r) => r.team === team)
          .reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);
        expect(cost).toBe(BigInt(served) * 12_500_000_000n);
        const counters = await new RedisStore(killer, { prefix: 'cut:' }).snapshot();
        const mine = counters.find((c) => c.key.endsWith(`\u0000${team}`));
        expect({ team, committed: mine?.committed, reserved: mine?.reserved }).toEqual({
          team,
          committed: cost,
          reserved: 0n,
        });
      }
    } finally {
      killer.disconnect();
      await gateway.close();
    }
  }, 30_000);
});
