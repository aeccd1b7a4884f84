import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { ADMIN_ENV, ADMIN_YAML, admin, eventsOf, ledgerFile } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// Kill switches set and lifted through the admin API: they block one dimension value at once,
// expire on the gateway's (fake) clock, name the admin token in their events, and live in the
// ledger file, so a gateway started again on the same file still enforces them.
const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
const file = ledgerFile();

let upstream: MockUpstream;
let gateway: TestGateway;

function start(): Promise<TestGateway> {
  return startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
storage: { ledger: "sqlite:${file}" }
${ADMIN_YAML}
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
`,
    { env: ADMIN_ENV, clock },
  );
}

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(10, 5)),
  });
  gateway = await start();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function send(org: string): Promise<Answer> {
  return post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 16 },
    { 'x-org-id': org },
  );
}

function isoIn(ms: number): string {
  return new Date(clock.now() + ms).toISOString();
}

async function killAcme(expiresAt?: string): Promise<string> {
  const answer = await admin(gateway.url, 'POST', '/kill-switches', {
    body: { dimension: 'org', value: 'acme', ...(expiresAt ? { expires_at: expiresAt } : {}) },
  });
  if (answer.status !== 201) throw new Error(`POST /kill-switches answered ${answer.status}`);
  return answer.json.id as string;
}

describe('kill switches: block a dimension value at once', () => {
  let id = '';

  it('answers POST /kill-switches with 201 and the switch', async () => {
    const expiresAt = isoIn(3_600_000);

    const answer = await admin(gateway.url, 'POST', '/kill-switches', {
      body: { dimension: 'org', value: 'acme', expires_at: expiresAt },
    });

    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject({
      dimension: 'org',
      value: 'acme',
      expires_at: '2026-03-10T13:00:00.000Z',
      created_by: 'finance',
    });
    id = answer.json.id as string;
    expect(id).not.toBe('');
  });

  it('refuses org acme with 429 kill_switch and lets other orgs pass', async () => {
    const callsBefore = upstream.received.length;

    const blocked = await send('acme');
    const other = await send('globex');

    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('x-spendgate-reason')).toBe('kill_switch');
    expect(blocked.headers.get('x-should-retry')).toBe('false');
    expect(blocked.headers.get('retry-after')).toBe('3600');
    const error = (JSON.parse(blocked.text) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ type: 'kill_switch', code: 'kill_switch' });
    expect(other.status).toBe(200);
    expect(upstream.received.length - callsBefore).toBe(1);
  });

  it('lists the switch being set in GET /events, naming the token that set it', async () => {
    const [event] = await eventsOf(gateway, 'type=kill_switch_created');

    expect(event).toMatchObject({
      type: 'kill_switch_created',
      scope: { org: 'acme' },
      actor: 'finance',
      data: { id },
    });
  });

  it('lets requests pass again after DELETE /kill-switches/<id>', async () => {
    const deleted = await admin(gateway.url, 'DELETE', `/kill-switches/${id}`);

    const answer = await send('acme');

    expect(deleted.status).toBe(200);
    expect(answer.status).toBe(200);
    const [event] = await eventsOf(gateway, 'type=kill_switch_deleted');
    expect(event).toMatchObject({
      actor: 'finance',
      data: { id },
    });
  });

  it('stops blocking once the clock passes expires_at', async () => {
    await killAcme(isoIn(600_000));
    const before = await send('acme');

    clock.advance(600_001);
    const after = await send('acme');

    expect(before.status).toBe(429);
    expect(before.headers.get('retry-after')).toBe('600');
    expect(after.status).toBe(200);
  });

  it('gives a scoped admin token 403 on POST and sets nothing', async () => {
    const answer = await admin(gateway.url, 'POST', '/kill-switches', {
      token: ADMIN_ENV.ACME_TOKEN,
      body: { dimension: 'org', value: 'globex' },
    });

    expect(answer.status).toBe(403);
    expect((await send('globex')).status).toBe(200);
  });
});

describe('kill switches: a restart keeps them', () => {
  it('still blocks org acme on a gateway started again on the same ledger file', async () => {
    const id = await killAcme();
    await gateway.close();

    gateway = await start();
    const blocked = await send('acme');

    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('x-spendgate-reason')).toBe('kill_switch');
    const listed = await admin(gateway.url, 'GET', '/kill-switches');
    expect((listed.json.data as { id: string }[]).map((k) => k.id)).toEqual([id]);
  });
});
