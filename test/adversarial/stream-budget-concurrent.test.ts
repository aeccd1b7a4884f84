import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../src/money/money.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { openAiSse, startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// SPEC "Budgets and enforcement": concurrent requests cannot jointly overshoot a budget beyond
// what the reservations allow, and a stream whose running cost reaches the remaining budget is
// ended. Ten parallel streams that set no max_tokens reserve the default 4,096 tokens each
// ($0.04096 at $10/M, $0.41 in all, which fits $1.00), then each generates 16,000 tokens
// ($0.16; gpt-4o may produce up to 16,384). Together they must still stop at $1.00.
const DELTA = ' word'.repeat(40); // 40 tokens in o200k_base
const CHUNKS = 400; // 16,000 tokens per stream

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
attribution:
  org: [header:x-org-id, unattributed]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 1.00, period: 1d }
`);
  const chunk = {
    id: 'c',
    object: 'chat.completion.chunk',
    model: 'gpt-4o',
    choices: [{ index: 0, delta: { content: DELTA }, finish_reason: null }],
  };
  upstream.reply('/v1/chat/completions', {
    kind: 'sse',
    chunks: openAiSse(Array.from({ length: CHUNKS }, () => chunk)),
    gapMs: 2,
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('parallel streams share one budget', () => {
  it('never lets ten concurrent streams spend more than the $1.00 limit together', async () => {
    const body = JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Write a long essay.' }],
      stream: true,
    });
    const ids = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await fetch(gateway.url + '/openai/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
          body,
        });
        await res.text();
        return res.headers.get('x-spendgate-request-id');
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));

    const rows = (await gateway.rows()).filter((r) => ids.includes(r.requestId));
    const spent = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);
    expect(rows).toHaveLength(10);
    expect(Number(spent)).toBeLessThanOrEqual(Number(usdToPico('1.00')));
  });
});
