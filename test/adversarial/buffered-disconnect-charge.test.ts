import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// SPEC "Wire formats": a request that the client aborts is still charged for what the provider
// was given; docs/behaviour.md charges a disconnected stream its prompt. A non-streamed request
// whose client hangs up after it was forwarded has had its whole prompt processed upstream, so
// it must not be recorded at $0 (or a client could spend freely by hanging up each time).
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
attribution:
  org: [header:x-org-id, unattributed]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 1.00, period: 1d }
`);
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    delayMs: 600,
    body: {
      choices: [{ index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3000, completion_tokens: 500, total_tokens: 3500 },
    },
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('a non-streamed request whose client disconnects after forwarding', () => {
  it('is read to its end and charged the usage the provider reported', async () => {
    const before = upstream.received.length;
    const body = JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'word '.repeat(3000) }],
      max_tokens: 500,
    });
    await fetch(gateway.url + '/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': 'hangs-up' },
      body,
      signal: AbortSignal.timeout(300),
    }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 700));

    const rows = (await gateway.rows()).filter((r) => r.org === 'hangs-up');
    expect(upstream.received.length - before).toBe(1);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.flags).toContain('client_disconnected');
    // 3,000 × $2.50/M + 500 × $10/M = $0.0125, from the provider's usage.
    expect(row.usageSource).toBe('provider');
    expect([row.inputTokens, row.outputTokens]).toEqual([3000, 500]);
    expect(row.costPico).toBe(12_500_000_000n);
  });
});
