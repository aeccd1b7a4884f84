import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// SPEC "HTTP contract": a scoped admin token gets only its scope's rows, whatever it asks for.
// `key` is a dimension (SPEC "Identity and attribution"), so a token scoped to one virtual key
// must never read the rows of other keys or of requests without one.
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(
    `
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
    - { name: one-key, token_env: KEY_VIEW_TOKEN, scope: { key: k_only_this_one } }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
attribution:
  org: [header:x-org-id, unattributed]
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
`,
    { env: { ADMIN_TOKEN: 'admin-secret', KEY_VIEW_TOKEN: 'key-view-secret' } },
  );
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
  });
  for (const org of ['acme', 'globex']) {
    await fetch(gateway.url + '/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': org },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
  }
  await gateway.rows();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('a scoped admin token never reads rows outside its scope', () => {
  it('gives a token scoped to one virtual key none of the other requests', async () => {
    const res = await fetch(gateway.url + '/api/v1/requests', {
      headers: { authorization: 'Bearer key-view-secret' },
    });
    const body = (await res.json()) as { data: { org: string }[] };

    expect(res.status).toBe(200);
    expect(body.data.map((r) => r.org)).toEqual([]);
  });
});
