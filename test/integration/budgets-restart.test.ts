import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerFile } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

let upstream: MockUpstream;
let file: string;

const yaml = () => `
identity: { require_credential: false }
storage: { ledger: "sqlite:${file}" }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
rate_limits:
  - { name: org-limits, scope: { org: "*" }, requests_per_minute: 2, tokens_per_day: 1000 }
`;

const send = (gateway: TestGateway, maxTokens = 10) =>
  fetch(`${gateway.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
    body: JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: maxTokens,
    }),
  });

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: { choices: [], usage: { prompt_tokens: 300, completion_tokens: 100, total_tokens: 400 } },
  });
  file = ledgerFile();
});

afterAll(async () => {
  await upstream.close();
});

describe('rate limits across a restart', () => {
  it('rebuilds the requests-per-minute bucket from the ledger', async () => {
    const first = await startGateway(yaml());
    expect((await send(first)).status).toBe(200);
    expect((await send(first)).status).toBe(200);
    await first.close();

    const second = await startGateway(yaml());
    const third = await send(second);

    // Two requests this minute already: the limit holds after the restart.
    expect(third.status).toBe(429);
    expect(third.headers.get('x-spendgate-reason')).toBe('rpm_exceeded');
    await second.close();
  });
});
