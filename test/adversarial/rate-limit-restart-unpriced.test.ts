import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerFile } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// SPEC "Budgets and enforcement": budget state survives a restart (rebuilt from the ledger), and
// the commit "Token buckets rebuilt from the ledger at start" says the same for rate limits. A
// request-per-minute limit counts requests, whatever they cost: requests to a model without a
// price (cost null) are served, counted in RPM, and must still count after a restart.
let upstream: MockUpstream;
let file: string;

const yaml = () => `
identity: { require_credential: false }
storage: { ledger: "sqlite:${file}" }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
rate_limits:
  - { name: org-rpm, scope: { org: "*" }, requests_per_minute: 2 }
`;

const send = (gateway: TestGateway) =>
  fetch(`${gateway.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
    body: JSON.stringify({
      model: 'my-unpriced-model',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
    }),
  });

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: { choices: [], usage: { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 } },
  });
  file = ledgerFile();
});

afterAll(async () => {
  await upstream.close();
});

describe('requests-per-minute across a restart', () => {
  it('still counts served requests whose cost is null after the gateway restarts', async () => {
    const first = await startGateway(yaml());
    expect((await send(first)).status).toBe(200);
    expect((await send(first)).status).toBe(200);
    expect((await send(first)).status).toBe(429);
    await first.close();

    const second = await startGateway(yaml());
    const after = await send(second);
    await second.close();

    expect(after.status).toBe(429);
    expect(after.headers.get('x-spendgate-reason')).toBe('rpm_exceeded');
  });
});
