import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// RateLimit-Policy and RateLimit carry a name as an RFC 8941 sf-string, where `"` and `\` must
// be escaped; x-spendgate-budget-warning joins `<budget>; used=<percent>%` entries with commas,
// so a `,` or `;` in a name would read as another entry or parameter.
let upstream: MockUpstream;
let gateway: TestGateway;
const NOON = Date.parse('2026-12-15T12:00:00Z');

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(1_000, 10)),
  });
  gateway = await startGateway(
    `
identity: { require_credential: false }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - name: 'say "hi", a\\b; c'
    scope: { org: "*" }
    limit_usd: 10
    period: 1d
    actions: [{ at: 0.001, do: warn }, { at: 100, do: reject }]
`,
    { clock: fakeClock(NOON) },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('policy names with the separators of their headers', () => {
  it('are escaped in the RateLimit fields and percent-encoded in the budget warning', async () => {
    const answer = await post(
      `${gateway.url}/openai/v1/chat/completions`,
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
