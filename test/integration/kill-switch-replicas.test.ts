import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { KILL_SWITCH_POLL_MS } from '../../src/engine/kill-switch-sync.js';
import { ADMIN_ENV, ADMIN_YAML, admin } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { capturedLogger, createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// Two gateways on one PostgreSQL ledger, as two replicas behind a load balancer: a kill switch
// set or lifted through one of them is enforced by the other within the poll interval. Expiry
// follows the gateways' (fake) clock; the poll runs on real time.
const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
/** The poll interval, plus time for the read and a request. */
const WINDOW_MS = KILL_SWITCH_POLL_MS + 1_500;

let database: TestDatabase;
let upstream: MockUpstream;
let a: TestGateway;
let b: TestGateway;
const bLog = capturedLogger();

beforeAll(async () => {
  database = await createTestDatabase();
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(10, 5)),
  });
  const yaml = `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
storage: { ledger: "${database.url}" }
${ADMIN_YAML}
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
`;
  a = await startGateway(yaml, { env: ADMIN_ENV, clock });
  b = await startGateway(yaml, { env: ADMIN_ENV, clock, logger: bLog.logger });
}, 30_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  await database?.drop();
});

function send(gateway: TestGateway, org: string): Promise<Answer> {
  return post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 16 },
    { 'x-org-id': org },
  );
}

/** Sends to `gateway` until it answers `status`; resolves to the answer and how long it took. */
async function untilStatus(
  gateway: TestGateway,
  org: string,
  status: number,
): Promise<{ answer: Answer; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    const answer = await send(gateway, org);
    const afterMs = Date.now() - started;
    if (answer.status === status || afterMs > WINDOW_MS) return { answer, afterMs };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function kill(gateway: TestGateway, body: Record<string, unknown>): Promise<string> {
  const answer = await admin(gateway.url, 'POST', '/kill-switches', { body });
  if (answer.status !== 201) throw new Error(`POST /kill-switches answered ${answer.status}`);
  return answer.json.id as string;
}

describe('kill switches across replicas sharing a PostgreSQL ledger', () => {
  let id = '';

  it('refuses on the other replica within the poll interval once one replica sets it', async () => {
    expect((await send(b, 'acme')).status).toBe(200);

    id = await kill(a, { dimension: 'org', value: 'acme' });
    const onA = await send(a, 'acme');
    const onB = await untilStatus(b, 'acme', 429);

    expect(onA.status).toBe(429);
    expect(onB.answer.status).toBe(429);
    expect(onB.answer.headers.get('x-spendgate-reason')).toBe('kill_switch');
    expect(onB.afterMs).toBeLessThanOrEqual(WINDOW_MS);
    expect((await send(b, 'globex')).status).toBe(200);
    expect(bLog.events('kill_switch.synced')).toMatchObject([
      { level: 'info', added: [{ id, dimension: 'org', value: 'acme' }], removed: [] },
    ]);
  });

  it('admits again on the other replica within the poll interval once one lifts it', async () => {
    const deleted = await admin(a.url, 'DELETE', `/kill-switches/${id}`);
    const onA = await send(a, 'acme');
    const onB = await untilStatus(b, 'acme', 200);

    expect(deleted.status).toBe(200);
    expect(onA.status).toBe(200);
    expect(onB.answer.status).toBe(200);
    expect(onB.afterMs).toBeLessThanOrEqual(WINDOW_MS);
    expect(bLog.events('kill_switch.synced')[1]).toMatchObject({ added: [], removed: [id] });
  });

  it('lifts a switch set on the other replica when its expiry passes', async () => {
    const expiring = await kill(b, {
      dimension: 'org',
      value: 'initech',
      expires_at: new Date(clock.now() + 600_000).toISOString(),
    });
    const onA = await untilStatus(a, 'initech', 429);

    clock.advance(600_001);
    const afterOnA = await send(a, 'initech');
    const afterOnB = await send(b, 'initech');

    expect(onA.answer.status).toBe(429);
    expect(onA.answer.headers.get('retry-after')).toBe('600');
    expect(afterOnA.status).toBe(200);
    expect(afterOnB.status).toBe(200);
    const listed = await admin(a.url, 'GET', '/kill-switches');
    expect(listed.json.data).toEqual([]);
    expect(expiring).toMatch(/^ks_/);
  });

  it('logs no failure while the ledger answers', () => {
    expect(bLog.events('kill_switch.sync_failed')).toEqual([]);
  });
});
