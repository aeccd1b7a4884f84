import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.js';
import { ledgerFile, usdCost } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { rowOf } from '../support/ledger.js';
import { capturingLogger, eventsOf } from '../support/log-capture.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { redisClient, uniquePrefix } from '../support/redis.js';
import { startOwnedRedis, type OwnedRedis } from '../support/redis-server.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// Traffic through a gateway whose counters are in a Redis this test stops and starts again.
// The stop saves first, so the restarted Redis holds what it held, as a persistent one would.
let upstream: MockUpstream;
let redis: OwnedRedis;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(300, 100)),
  });
  redis = await startOwnedRedis();
});

afterAll(async () => {
  await upstream.close();
  await redis.destroy();
});

const yaml = (prefix: string, rule: 'fail_open' | 'fail_closed', extra = '') => `
identity: { require_credential: false }
storage:
  counters: "redis://127.0.0.1:${redis.port}/0?prefix=${prefix}"
  on_store_down: ${rule}${extra}
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 100, period: 1d }
`;

const RPM_LIMIT = `
rate_limits:
  - { name: org-rpm, scope: { org: "*" }, requests_per_minute: 3 }
`;

/** 300 prompt and 100 completion tokens of gpt-4o. */
const ONE_REQUEST = usdCost(300, 100, '2.50', '10.00');

const send = (gateway: TestGateway): Promise<Answer> =>
  post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 },
    { 'x-org-id': 'acme' },
  );

async function flagsOf(gateway: TestGateway, answer: Answer): Promise<string[]> {
  return (await rowOf(gateway, answer.headers.get('x-spendgate-request-id'))).flags;
}

async function loggedUp(lines: readonly Record<string, unknown>[]): Promise<void> {
  await expect.poll(() => eventsOf(lines).includes('store.up'), { timeout: 5_000 }).toBe(true);
}

/** The budget instances Redis holds under `prefix`, read over the test's own connection. */
async function countersIn(prefix: string) {
  const client = redisClient(redis.port);
  const found = await new RedisStore(client, { prefix }).snapshot();
  client.disconnect();
  return found.map((s) => ({ committed: s.committed, reserved: s.reserved }));
}

describe('redis counters: outage under fail_open', () => {
  it('flags what it served on local counters and leaves Redis holding exactly the ledger’s spend', async () => {
    const prefix = uniquePrefix('outage-open');
    const { logger, lines } = capturingLogger();
    const gateway = await startGateway(yaml(prefix, 'fail_open'), { logger });

    const before = [await send(gateway), await send(gateway)];
    await redis.stop();
    const during = [await send(gateway), await send(gateway), await send(gateway)];
    await redis.start();
    await loggedUp(lines);
    const after = await send(gateway);

    expect([...before, ...during, after].map((a) => a.status)).toEqual([
      200, 200, 200, 200, 200, 200,
    ]);
    for (const answer of before) expect(await flagsOf(gateway, answer)).not.toContain('fail_open');
    for (const answer of during) expect(await flagsOf(gateway, answer)).toContain('fail_open');
    expect(await flagsOf(gateway, after)).not.toContain('fail_open');
    const rows = await gateway.rows();
    const spent = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);
    expect(spent).toBe(6n * ONE_REQUEST);
    expect(await countersIn(prefix)).toEqual([{ committed: spent, reserved: 0n }]);
    expect(eventsOf(lines).filter((e) => String(e).startsWith('store.'))).toEqual([
      'store.down',
      'store.up',
    ]);
    await gateway.close();
  });

  it('shares one budget between two gateways on the same prefix', async () => {
    const prefix = uniquePrefix('outage-shared');
    const first = await startGateway(yaml(prefix, 'fail_open'));
    const second = await startGateway(yaml(prefix, 'fail_open'));

    await send(first);
    await send(second);

    expect(await countersIn(prefix)).toEqual([{ committed: 2n * ONE_REQUEST, reserved: 0n }]);
    await first.close();
    await second.close();
  });
});

describe('redis counters: a gateway restart', () => {
  it('counts the requests of before the restart once, in budgets and in rate limits', async () => {
    const prefix = uniquePrefix('restart');
    const file = ledgerFile();
    const config = yaml(prefix, 'fail_open', `\n  ledger: "sqlite:${file}"`) + RPM_LIMIT;
    const first = await startGateway(config);
    const served = [await send(first), await send(first)];
    await first.close();

    const second = await startGateway(config);
    const third = await send(second);
    const fourth = await send(second);

    expect(served.map((a) => a.status)).toEqual([200, 200]);
    // The ledger's two rows are already in the Redis bucket: replaying them would refuse this.
    expect(third.status).toBe(200);
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('x-spendgate-reason')).toBe('rpm_exceeded');
    // The seed from the ledger (2 requests) does not lower or add to Redis's figure.
    expect(await countersIn(prefix)).toEqual([{ committed: 3n * ONE_REQUEST, reserved: 0n }]);
    await second.close();
  });
});

describe('redis counters: outage under fail_closed', () => {
  it('answers 503 store_unavailable in the API’s error format while Redis is down, and serves after', async () => {
    const prefix = uniquePrefix('outage-closed');
    const { logger, lines } = capturingLogger();
    const gateway = await startGateway(yaml(prefix, 'fail_closed'), { logger });

    const before = await send(gateway);
    await redis.stop();
    const during = await send(gateway);
    await redis.start();
    await loggedUp(lines);
    const after = await send(gateway);

    expect(before.status).toBe(200);
    expect(during.status).toBe(503);
    expect(during.headers.get('x-spendgate-reason')).toBe('store_unavailable');
    expect(JSON.parse(during.text)).toEqual({
      error: {
        message:
          'the counter store is unavailable and enforcement fails closed for org "acme", ' +
          'team "unattributed", user "unattributed"',
        type: 'store_unavailable',
        code: 'store_unavailable',
      },
    });
    expect(after.status).toBe(200);
    expect(await countersIn(prefix)).toEqual([{ committed: 2n * ONE_REQUEST, reserved: 0n }]);
    expect(eventsOf(lines).filter((e) => String(e).startsWith('store.'))).toEqual([
      'store.down',
      'store.up',
    ]);
    await gateway.close();
  });
});
