import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerRow } from '../support/rows.js';
import { startGateway, type TestGateway, openAiGatewayYaml } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

const ENV = { ADMIN: 'admin-secret', ACME: 'acme-secret' };
let gateway: TestGateway;
let upstream: MockUpstream;

const call = async (path: string, token: string, init: RequestInit = {}) => {
  const res = await fetch(`${gateway.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
};

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: { choices: [], usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 } },
  });
  gateway = await startGateway(
    `
admin:
  tokens:
    - { name: finance, token_env: ADMIN }
    - { name: acme-viewer, token_env: ACME, scope: { org: acme } }
${openAiGatewayYaml(upstream.url)}budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 10, period: 1d }
`,
    { env: ENV },
  );
  for (const org of ['acme', 'globex']) {
    await fetch(`${gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': org, 'x-team-id': `${org}-team` },
      body: JSON.stringify({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 5,
      }),
    });
  }
  gateway.deps.ledger.append(
    ledgerRow('old-globex', Date.now() - 1000, { org: 'globex', tags: { app: 'x' } }),
  );
  await call('/kill-switches', ENV.ADMIN, {
    method: 'POST',
    body: JSON.stringify({ dimension: 'org', value: 'globex' }),
  });
  await gateway.deps.ledger.flush();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('a scoped admin token', () => {
  const leaks = (text: string) => text.includes('globex');

  it.each([
    '/requests',
    '/requests?org=globex',
    '/requests?team=globex-team',
    '/requests?tag:app=x',
    '/spend?group_by=org',
    '/spend?group_by=org,team&org=globex',
    '/spend?group_by=tag:app',
    '/export?format=csv',
    '/export?format=json&org=globex',
    '/export?format=ndjson',
    '/export?format=focus',
    '/budgets',
    '/events',
    '/events?type=kill_switch_created',
    '/kill-switches',
  ])('never sees another org through %s', async (path) => {
    const answer = await call(path, ENV.ACME);

    expect(answer.status).toBe(200);
    expect(leaks(answer.text)).toBe(false);
  });

  it('sees its own org', async () => {
    const answer = await call('/spend?group_by=org', ENV.ACME);

    expect(JSON.parse(answer.text).data.map((r: { org: string }) => r.org)).toEqual(['acme']);
  });

  it('is read-only', async () => {
    const post = await call('/kill-switches', ENV.ACME, {
      method: 'POST',
      body: JSON.stringify({ dimension: 'org', value: 'acme' }),
    });

    expect(post.status).toBe(403);
  });

  it('while the unscoped token sees both orgs', async () => {
    const answer = await call('/spend?group_by=org', ENV.ADMIN);

    expect(
      JSON.parse(answer.text)
        .data.map((r: { org: string }) => r.org)
        .sort(),
    ).toEqual(['acme', 'globex']);
  });

  it('answers a wrong method with 405 and the methods allowed', async () => {
    const res = await fetch(`${gateway.url}/api/v1/circuit-breakers/reset`, {
      headers: { authorization: `Bearer ${ENV.ADMIN}` },
    });

    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('refuses a breaker reset for a dimension that does not exist', async () => {
    const answer = await call('/circuit-breakers/reset', ENV.ADMIN, {
      method: 'POST',
      body: JSON.stringify({ scope: { bogus: 'a' } }),
    });

    expect(answer.status).toBe(400);
  });

  it('and a wrong token sees nothing', async () => {
    expect((await call('/requests', 'nope')).status).toBe(401);
  });
});
