import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { handleDecision } from '../../src/decision/handler.js';
import { createEnforcer } from '../../src/engine/engine.js';
import type { CounterStore } from '../../src/store/store.js';
import { ADMIN_ENV, ADMIN_YAML } from '../support/budgets.js';
import { decide, reportUsage } from '../support/decision.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { rowOf } from '../support/ledger.js';
import { chatUsage } from '../support/wire.js';

// What the decision service answers to calls it cannot decide on, to usage reports it cannot
// take, and the forms the front proxies send (Envoy's path prefix, Traefik's headers, nginx's
// 403 mode). `tiny` is a team whose budget refuses every request.
const NOW = Date.parse('2026-03-10T12:00:00Z');

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: "http://127.0.0.1:9", unmetered: forward }
  anthropic: { format: anthropic, base_url: "http://127.0.0.1:9" }
  strict: { format: openai, base_url: "http://127.0.0.1:9", unmetered: reject }
identity: { require_credential: false }
${ADMIN_YAML}
attribution:
  org: [header:x-org-id]
  team: [header:x-team-id, unattributed]
  require: [org]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: tiny, scope: { team: tiny }, limit_usd: 0.000001, period: 1d }
  - { name: tiny-accented, scope: { team: "caf\u00e9" }, limit_usd: 0.000001, period: 1d }
`,
    { env: ADMIN_ENV, clock: fakeClock(NOW) },
  );
});

afterAll(async () => {
  await gateway.close();
});

const ORG = { 'x-org-id': 'acme' };
const HINTS = { ...ORG, 'x-spendgate-model': 'gpt-4o' };
const CHAT = '/openai/v1/chat/completions';

async function rowCount(): Promise<number> {
  return (await gateway.rows()).length;
}

describe('decision service: calls it cannot decide on', () => {
  it('answers 400 without X-Original-URI, with an id and no row', async () => {
    const before = await rowCount();

    const answer = await decide(gateway.url, null, { headers: HINTS });

    expect(answer.status).toBe(400);
    expect(answer.headers.get('x-spendgate-reason')).toBe('invalid_request');
    expect(answer.headers.get('x-spendgate-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: { type: 'invalid_request', code: 'invalid_request' },
    });
    expect(await rowCount()).toBe(before);
  });

  it('answers 404 unknown_upstream in the format the path suggests', async () => {
    const openai = await decide(gateway.url, '/nowhere/v1/chat/completions', { headers: HINTS });
    const anthropic = await decide(gateway.url, '/nowhere/v1/messages', { headers: HINTS });

    expect(openai.status).toBe(404);
    expect(JSON.parse(openai.text)).toMatchObject({ error: { code: 'unknown_upstream' } });
    expect(anthropic.status).toBe(404);
    expect(JSON.parse(anthropic.text)).toEqual({
      type: 'error',
      error: {
        type: 'not_found_error',
        message: 'no upstream named "nowhere"; configured: /openai, /anthropic, /strict',
      },
    });
  });

  it('answers 400 missing_identity as a row when a required dimension is absent', async () => {
    const answer = await decide(gateway.url, CHAT, { headers: { 'x-spendgate-model': 'gpt-4o' } });

    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('x-spendgate-reason')).toBe('missing_identity');
    expect(row).toMatchObject({ decision: 'reject', reason: 'missing_identity', status: 400 });
  });

  it('answers 400 when neither the body nor x-spendgate-model names the model', async () => {
    const answer = await decide(gateway.url, CHAT, { headers: ORG });

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: {
        code: 'invalid_request',
        message:
          'a decision without the request body needs x-spendgate-model (or forward the body)',
      },
    });
  });

  it('answers 400 to a token hint that is not a whole number', async () => {
    const answer = await decide(gateway.url, CHAT, {
      headers: { ...HINTS, 'x-spendgate-estimate-tokens': '12.5' },
    });

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: { message: 'x-spendgate-estimate-tokens must be a whole number of tokens' },
    });
  });

  it('answers 400 to a forwarded body that is not JSON, as the proxy would', async () => {
    const res = await fetch(`${gateway.url}/v1/decision`, {
      method: 'POST',
      headers: { ...ORG, 'x-original-uri': CHAT, 'content-type': 'application/json' },
      body: '{"model": "gpt-4o",',
    });

    expect(res.status).toBe(400);
    expect(res.headers.get('x-spendgate-reason')).toBe('invalid_request');
    expect(await res.text()).toContain('the request body is not valid JSON');
  });

  it('answers 400 to an unmetered endpoint of an upstream that refuses them', async () => {
    const answer = await decide(gateway.url, '/strict/v1/files', { headers: ORG });

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toMatchObject({
      error: {
        message:
          '/v1/files is not metered by Spendgate, and upstream "strict" refuses unmetered endpoints',
      },
    });
  });

  it('answers 400 to an x-spendgate-reject-status other than 401 or 403', async () => {
    const answer = await decide(gateway.url, CHAT, {
      headers: { ...HINTS, 'x-spendgate-reject-status': '500' },
    });

    expect(answer.status).toBe(400);
    expect(answer.text).toContain('x-spendgate-reject-status must be 401 or 403');
  });
});

describe('decision service: the forms front proxies send', () => {
  it('takes the original path after /v1/decision and the method of the call (Envoy)', async () => {
    const res = await fetch(`${gateway.url}/v1/decision/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { ...ORG, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    });

    const reported = await reportUsage(gateway.url, {
      request_id: res.headers.get('x-spendgate-request-id'),
      usage: chatUsage(9, 1),
    });

    expect(res.status).toBe(200);
    expect(reported.json.data).toMatchObject({
      endpoint: '/v1/chat/completions',
      input_tokens: 9,
      counted_input_tokens: 8,
    });
  });

  it('takes X-Forwarded-Uri and X-Forwarded-Method (Traefik)', async () => {
    const res = await fetch(`${gateway.url}/v1/decision`, {
      method: 'GET',
      headers: {
        ...ORG,
        'x-forwarded-uri': '/openai/v1/models',
        'x-forwarded-method': 'GET',
      },
    });

    const row = await rowOf(gateway, res.headers.get('x-spendgate-request-id'));
    expect(res.status).toBe(200);
    expect(row).toMatchObject({
      endpoint: '/v1/models',
      costPico: null,
      flags: ['sidecar', 'unmetered'],
    });
  });

  it('answers a refusal as 403 with its status and body in headers when asked (nginx)', async () => {
    const answer = await decide(gateway.url, CHAT, {
      headers: { ...HINTS, 'x-team-id': 'tiny', 'x-spendgate-reject-status': '403' },
    });

    expect(answer.status).toBe(403);
    expect(answer.headers.get('x-spendgate-status')).toBe('429');
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('retry-after')).toBe('43200');
    expect(answer.headers.get('x-spendgate-error-body')).toBe(answer.text);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'budget_exceeded' } });
  });

  it('escapes non-ASCII text of the body header so it stays the same JSON', async () => {
    // The message names the refusing budget's own dimension: the accented team.
    const answer = await decide(gateway.url, CHAT, {
      headers: { ...HINTS, 'x-team-id': 'caf\u00e9' },
    });
    const folded = await decide(gateway.url, CHAT, {
      headers: {
        ...HINTS,
        'x-team-id': 'caf\u00e9',
        'x-spendgate-reject-status': '403',
      },
    });

    const header = folded.headers.get('x-spendgate-error-body') ?? '';
    expect(answer.status).toBe(429);
    expect(header).toContain('caf\\u00e9');
    expect(JSON.parse(header)).toEqual(JSON.parse(answer.text));
  });
});

describe('decision service: usage reports it cannot take', () => {
  async function allowed(): Promise<string> {
    const answer = await decide(gateway.url, CHAT, { headers: HINTS });
    if (answer.status !== 200) throw new Error(`decision answered ${answer.status}`);
    return answer.headers.get('x-spendgate-request-id') ?? '';
  }

  it('answers 404 to an unknown request id', async () => {
    const reported = await reportUsage(gateway.url, {
      request_id: 'no-such-decision',
      model: 'gpt-4o',
      usage: chatUsage(1, 1),
    });

    expect(reported.status).toBe(404);
    expect(reported.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('answers 400 to malformed JSON and leaves the decision waiting', async () => {
    const id = await allowed();

    const malformed = await reportUsage(gateway.url, `{"request_id": "${id}", "usage": {`);
    const notUsage = await reportUsage(gateway.url, { request_id: id, usage: 'lots' });
    const noCounts = await reportUsage(gateway.url, { request_id: id, usage: { tokens: 5 } });
    const good = await reportUsage(gateway.url, {
      request_id: id,
      model: 'gpt-4o',
      usage: chatUsage(1_000, 100),
    });

    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ error: { code: 'invalid_request' } });
    expect(notUsage.status).toBe(400);
    expect(noCounts.status).toBe(400);
    expect(String((noCounts.json.error as { message: string }).message)).toContain('OpenAI shape');
    expect(good.status).toBe(200);
    expect(good.headers.get('x-spendgate-cost-usd')).toBe('0.0035');
  });

  it('answers 400 to a report without request_id', async () => {
    const reported = await reportUsage(gateway.url, { model: 'gpt-4o', usage: chatUsage(1, 1) });

    expect(reported.status).toBe(400);
  });

  it('needs an unscoped admin token: 401 without one, 403 with a scoped one', async () => {
    const id = await allowed();
    const report = { request_id: id, model: 'gpt-4o', usage: chatUsage(1, 1) };

    const none = await reportUsage(gateway.url, report, 'not-a-token');
    const scoped = await reportUsage(gateway.url, report, ADMIN_ENV.ACME_TOKEN);
    const unscoped = await reportUsage(gateway.url, report);

    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ error: { code: 'invalid_token' } });
    expect(scoped.status).toBe(403);
    expect(unscoped.status).toBe(200);
  });

  it('answers 405 with Allow to another method', async () => {
    const res = await fetch(`${gateway.url}/v1/usage`, {
      headers: { authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}` },
    });

    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('decision service: a store that cannot answer', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const down = {
      reserve: () => Promise.reject(new Error('counter store down')),
    } as unknown as CounterStore;
    const deps = {
      ...gateway.deps,
      enforcer: createEnforcer({
        budgets: gateway.deps.config.raw.budgets ?? [],
        rateLimits: [],
        store: down,
        clock: gateway.deps.clock,
        onStoreDown: 'fail_closed',
      }),
    };
    server = createServer((req, res) => void handleDecision(deps, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers 503 store_unavailable when enforcement fails closed, as a row', async () => {
    const answer = await decide(url, CHAT, { headers: { ...HINTS, 'x-team-id': 'tiny' } });

    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(answer.status).toBe(503);
    expect(answer.headers.get('x-spendgate-reason')).toBe('store_unavailable');
    expect(row).toMatchObject({ decision: 'reject', reason: 'store_unavailable', status: 503 });
  });
});
