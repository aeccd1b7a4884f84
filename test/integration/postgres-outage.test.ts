import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { fakeClock } from '../../src/clock.js';
import { PostgresLedger } from '../../src/ledger/postgres/ledger.js';
import { picoToDecimal, usdToPico, type Pico } from '../../src/money/money.js';
import {
  ADMIN_ENV,
  ADMIN_YAML,
  admin,
  budgetsOf,
  chatEchoingMaxTokens,
  usdCost,
} from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { capturedLogger, startOwnPostgres, type OwnPostgres } from '../support/postgres.js';
import { ledgerRow } from '../support/rows.js';
import { silentLogger } from '../../src/log/logger.js';

// A PostgreSQL server of this test's own, stopped and started while a real gateway serves
// traffic; the shared server on 5432 is never touched.

const NOON = Date.parse('2026-03-10T12:00:00Z');
const PROMPT_TOKENS = 1_000;

let own: OwnPostgres;
let upstream: MockUpstream;

beforeAll(async () => {
  own = await startOwnPostgres();
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('gpt-4o', PROMPT_TOKENS));
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  own?.destroy();
});

const yaml = (database: string, extra = '') => `
${ADMIN_YAML}
identity: { require_credential: false }
storage: { ledger: "postgres://postgres@127.0.0.1:${own.port}/${database}" }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
${extra}
`;

async function createDatabase(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: own.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return `postgres://postgres@127.0.0.1:${own.port}/${name}`;
}

async function rowsIn(url: string): Promise<{ request_id: string; cost_pico: string }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT request_id, cost_pico FROM spendgate_requests')).rows;
  } finally {
    await client.end();
  }
}

type Sent = { id: string; expectedPico: Pico };

/** One chat call; `outputTokens` makes each request's cost different. */
async function send(gateway: TestGateway, outputTokens: number, org = 'acme'): Promise<Response> {
  return fetch(`${gateway.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-org-id': org },
    body: JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: outputTokens,
    }),
  });
}

async function traffic(gateway: TestGateway, from: number, count: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  // Five at a time: concurrent requests, as a gateway sees them.
  for (let i = from; i < from + count; i += 5) {
    const batch = Array.from({ length: Math.min(5, from + count - i) }, (_, k) => i + k);
    const answers = await Promise.all(batch.map((n) => send(gateway, n + 1)));
    for (const [k, res] of answers.entries()) {
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const n = batch[k] as number;
      const expectedPico = usdCost(PROMPT_TOKENS, n + 1, '2.50', '10.00');
      expect(usdToPico(res.headers.get('x-spendgate-cost-usd') ?? '')).toBe(expectedPico);
      sent.push({ id: res.headers.get('x-spendgate-request-id') as string, expectedPico });
    }
  }
  return sent;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The ledger holds every request once, with exactly the expected costs, rollups included. */
async function expectComplete(gateway: TestGateway, url: string, sent: Sent[]): Promise<void> {
  const stored = await rowsIn(url);
  const total = sent.reduce((sum, s) => sum + s.expectedPico, 0n);

  expect(stored.map((r) => r.request_id).sort()).toEqual(sent.map((s) => s.id).sort());
  expect(new Set(stored.map((r) => r.request_id)).size).toBe(sent.length);
  expect(stored.reduce((sum, r) => sum + BigInt(r.cost_pico), 0n)).toBe(total);
  const hourly = await admin(gateway.url, 'GET', '/spend?granularity=hour');
  const overall = await admin(gateway.url, 'GET', '/spend');
  const raw = await (gateway.deps.ledger as PostgresLedger).querySpendRaw({
    groupBy: [],
    filter: {},
  });
  expect(hourly.status).toBe(200);
  expect(hourly.text).toContain(`"cost_usd":${picoToDecimal(total)},`);
  expect(hourly.json.data).toEqual([expect.objectContaining({ requests: sent.length })]);
  expect(overall.text).toContain(`"cost_usd":${picoToDecimal(total)},`);
  expect(raw[0]?.costPico).toBe(total);
}

describe('postgres ledger: the database stops and starts during traffic', () => {
  it('serves through the outage, spools, replays, and ends complete and exact', async () => {
    const url = await createDatabase('outage');
    const { logger, events } = capturedLogger();
    const gateway = await startGateway(yaml('outage'), { env: ADMIN_ENV, logger });
    try {
      const sent = await traffic(gateway, 0, 20);
      await gateway.deps.ledger.flush();

      own.stop();
      sent.push(...(await traffic(gateway, 20, 30)));
      await gateway.deps.ledger.flush();
      await until(() => gateway.deps.ledger.health().state === 'down');
      const ready = await fetch(`${gateway.url}/readyz`);
      const started = Date.now();
      const spend = await admin(gateway.url, 'GET', '/spend');
      const readMs = Date.now() - started;

      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', ledger: 'down' });
      expect(spend.status).toBe(503);
      expect(spend.json).toMatchObject({ error: { code: 'store_unavailable' } });
      expect(readMs).toBeLessThan(1_000);
      const reads = await Promise.all([
        admin(gateway.url, 'GET', '/export?format=csv'),
        admin(gateway.url, 'GET', '/requests'),
        admin(gateway.url, 'GET', '/events'),
        admin(gateway.url, 'POST', '/kill-switches', { body: { dimension: 'org', value: 'x' } }),
      ]);
      expect(reads.map((r) => [r.status, r.json.error])).toEqual(
        reads.map(() => [503, expect.objectContaining({ code: 'store_unavailable' })]),
      );
      expect(gateway.deps.ledger.pending()).toBeGreaterThanOrEqual(30);

      own.start();
      sent.push(...(await traffic(gateway, 50, 10)));
      await gateway.deps.ledger.flush();
      await until(
        () => gateway.deps.ledger.health().state === 'ok' && gateway.deps.ledger.pending() === 0,
      );

      await expectComplete(gateway, url, sent);
      expect(events('ledger.down')).toHaveLength(1);
      expect(events('ledger.up')).toHaveLength(1);
      expect(JSON.stringify(events())).not.toContain(ADMIN_ENV.ADMIN_TOKEN);
    } finally {
      await gateway.close();
    }
  }, 90_000);
});

describe('postgres ledger: a start while the database is down', () => {
  it('starts, spools, and restores kill switches and past spend once it answers', async () => {
    const url = await createDatabase('late');
    // Before the outage: 3 USD spent by acme this morning, and a kill switch on org "blocked".
    const before = new PostgresLedger({ url, logger: silentLogger(), spoolDir: null });
    for (let i = 0; i < 3; i++) {
      before.append(ledgerRow(`past${i}`, NOON - 3_600_000 + i, { costPico: usdToPico('1') }));
    }
    await before.flush();
    await before.killSwitches.save(
      { id: 'ks_blocked', dimension: 'org', value: 'blocked', created_by: 'finance' },
      NOON - 60_000,
    );
    await before.close();
    own.stop();

    const { logger, events } = capturedLogger();
    const gateway = await startGateway(
      yaml(
        'late',
        'budgets:\n  - { name: org-daily, scope: { org: "*" }, limit_usd: 100, period: 1d }',
      ),
      { env: ADMIN_ENV, logger, clock: fakeClock(NOON) },
    );
    try {
      const sent = await traffic(gateway, 0, 15);
      await gateway.deps.ledger.flush();

      // Without the ledger the kill switch is not known yet: fail_open serves the request.
      expect((await send(gateway, 1, 'blocked')).status).toBe(200);
      expect(events('ledger.restore_deferred')).toHaveLength(1);

      own.start();
      await until(() => events('ledger.restored').length === 1);
      await until(
        () => gateway.deps.ledger.health().state === 'ok' && gateway.deps.ledger.pending() === 0,
      );

      const blocked = await send(gateway, 1, 'blocked');
      const budgets = await budgetsOf(gateway.url);
      const acme = budgets.data.find((b) => b.scope.org === 'acme');
      const servedPico = sent.reduce((sum, s) => sum + s.expectedPico, 0n);
      expect(blocked.status).toBe(429);
      expect(blocked.headers.get('x-spendgate-reason')).toBe('kill_switch');
      expect(usdToPico(String(acme?.spent_usd))).toBe(usdToPico('3') + servedPico);
      await gateway.deps.ledger.flush();
      const stored = await rowsIn(url);
      expect(stored.filter((r) => !r.request_id.startsWith('past')).length).toBe(sent.length + 2);
      expect(new Set(stored.map((r) => r.request_id)).size).toBe(stored.length);
    } finally {
      await gateway.close();
    }
  }, 90_000);
});
