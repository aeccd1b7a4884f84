import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// SPEC "Budgets and enforcement": a kill switch blocks a dimension value instantly. An org that
// is switched off must not keep spending the company's key through endpoints Spendgate does not
// meter (images, audio, files, batches are forwarded by default and cost money upstream).
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(
    `
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
attribution:
  org: [header:x-org-id, unattributed]
`,
    { env: { ADMIN_TOKEN: 'admin-secret' } },
  );
  upstream.reply('/v1/images/generations', { kind: 'json', body: { created: 1, data: [] } });
  const res = await fetch(gateway.url + '/api/v1/kill-switches', {
    method: 'POST',
    headers: { authorization: 'Bearer admin-secret', 'content-type': 'application/json' },
    body: JSON.stringify({ dimension: 'org', value: 'acme', reason: 'runaway agent' }),
  });
  if (res.status !== 201) throw new Error(`kill switch not created: ${res.status}`);
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('a kill switch blocks its org on every proxied endpoint', () => {
  it('refuses an unmetered image generation of a killed org with 429 kill_switch', async () => {
    const before = upstream.received.length;
    const res = await fetch(gateway.url + '/openai/v1/images/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
      body: JSON.stringify({ model: 'dall-e-3', prompt: 'a cat', n: 10 }),
    });
    const body = (await res.json()) as { error?: { code?: string } };

    expect(res.status).toBe(429);
    expect(res.headers.get('x-spendgate-reason')).toBe('kill_switch');
    expect(body.error?.code).toBe('kill_switch');
    expect(upstream.received.length).toBe(before);
  });
});
