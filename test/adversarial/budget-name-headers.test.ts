import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock, type Clock } from '../../src/clock.js';
import { startGateway, type TestGateway, openAiGatewayYaml } from '../support/gateway.js';
import { post } from '../support/http.js';
import { openAiSse, startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// A budget's name goes out in RateLimit-Policy, RateLimit and x-spendgate-budget-warning. Node
// refuses header text above U+00FF, and the policy headers are now written only in the answer's
// one writeHead, after the request was forwarded: a budget named in Japanese made every request
// reach the provider (which bills it), then fail with a 500 without x-spendgate-request-id, and
// the row said 502 with nothing charged. The name is written percent-encoded (UTF-8) instead.
// RateLimit-Policy and RateLimit also carry it as an RFC 8941 sf-string, where `"` and `\` must
// be escaped; x-spendgate-budget-warning joins `<budget>; used=<percent>%` entries with commas,
// so a `,` or `;` in a name would read as another entry or parameter.
let upstream: MockUpstream;
let gateway: TestGateway;
let separators: TestGateway;
const NAME = '予算';
const ENCODED = '%E4%BA%88%E7%AE%97';
const NOON = Date.parse('2026-12-15T12:00:00Z');

/** A gateway with one budget of this name, warning from 0.001% of its $10 a day. */
function withBudget(name: string, clock?: Clock): Promise<TestGateway> {
  return startGateway(
    `
${openAiGatewayYaml(upstream.url)}budgets:
  - name: '${name.replace(/'/g, "''")}'
    scope: { org: "*" }
    limit_usd: 10
    period: 1d
    actions: [{ at: 0.001, do: warn }, { at: 100, do: reject }]
`,
    clock ? { clock } : {},
  );
}

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
  gateway = await withBudget(NAME);
  separators = await withBudget('say "hi", a\\b; c', fakeClock(NOON));
});

afterAll(async () => {
  await gateway.close();
  await separators.close();
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

describe('a budget whose name holds the separators of its headers', () => {
  it('is escaped in the RateLimit fields and percent-encoded in the budget warning', async () => {
    const answer = await post(
      `${separators.url}/openai/v1/chat/completions`,
      { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      { 'x-org-id': 'acme' },
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit-policy')).toBe(
      '"say \\"hi\\", a\\\\b; c";q=10000000;w=86400',
    );
    expect(answer.headers.get('ratelimit')).toBe('"say \\"hi\\", a\\\\b; c";r=9999880;t=43200');
    expect(answer.headers.get('x-spendgate-budget-warning')).toBe('say "hi"%2C a\\b%3B c; used=0%');
  });
});
