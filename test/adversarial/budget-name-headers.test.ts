import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { openAiSse, startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// A budget's name goes out in RateLimit-Policy, RateLimit and x-spendgate-budget-warning. Node
// refuses header text above U+00FF, and the policy headers are now written only in the answer's
// one writeHead, after the request was forwarded: a budget named in Japanese made every request
// reach the provider (which bills it), then fail with a 500 without x-spendgate-request-id, and
// the row said 502 with nothing charged. The name is written percent-encoded (UTF-8) instead.
let upstream: MockUpstream;
let gateway: TestGateway;
const NAME = '予算';
const ENCODED = '%E4%BA%88%E7%AE%97';

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', (req) =>
    JSON.parse(req.body).stream
      ? {
          kind: 'sse',
          chunks: openAiSse([
            { choices: [{ index: 0, delta: { content: 'OK' } }] },
            { choices: [], usage: chatUsage(1_000, 10) },
          ]),
        }
      : { kind: 'json', body: chatCompletion('gpt-4o', 'OK', chatUsage(1_000, 10)) },
  );
  gateway = await startGateway(`
identity: { require_credential: false }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - name: ${NAME}
    scope: { org: "*" }
    limit_usd: 10
    period: 1d
    actions: [{ at: 0.001, do: warn }, { at: 100, do: reject }]
`);
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('a budget whose name is not Latin-1', () => {
  it('answers with its policy headers, the request id and the cost, and charges the row', async () => {
    const answer = await post(
      `${gateway.url}/openai/v1/chat/completions`,
      { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      { 'x-org-id': 'acme' },
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit-policy')).toBe(`"${ENCODED}";q=10000000;w=86400`);
    expect(answer.headers.get('x-spendgate-budget-warning')).toMatch(
      new RegExp(`^${ENCODED}; used=`),
    );
    expect(answer.headers.get('x-spendgate-cost-usd')).toBe('0.0026');
    const id = answer.headers.get('x-spendgate-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.received).toHaveLength(1);

    const rows = (await gateway.rows()).filter((r) => r.requestId === id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 200, decision: 'warn', costPico: 2_600_000_000n });
  });

  it('streams with them too, and charges the usage the provider reported', async () => {
    const answer = await post(
      `${gateway.url}/openai/v1/chat/completions`,
      {
        model: 'gpt-4o',
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      },
      { 'x-org-id': 'acme' },
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit-policy')).toBe(`"${ENCODED}";q=10000000;w=86400`);
    expect(answer.text).toContain('data: [DONE]');
    const id = answer.headers.get('x-spendgate-request-id');
    const rows = (await gateway.rows()).filter((r) => r.requestId === id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 200, decision: 'warn', costPico: 2_600_000_000n });
  });
});
