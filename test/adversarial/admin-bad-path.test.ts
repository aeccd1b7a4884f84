import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';

// SPEC "Bad input": every bad input gets a clear error; a malformed percent-escape in an admin
// path is the caller's mistake (4xx), not an internal error.
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startGateway(
    `
admin: { tokens: [ { name: finance, token_env: ADMIN } ] }
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:9 }
`,
    { env: { ADMIN: 'admin-secret' } },
  );
});

afterAll(async () => {
  await gateway.close();
});

describe('admin path parameters', () => {
  it('answers a kill switch id with a broken percent-escape with 400 or 404', async () => {
    const res = await fetch(`${gateway.url}/api/v1/kill-switches/%E0%A4%A`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer admin-secret' },
    });
    expect([400, 404]).toContain(res.status);
  });
});
