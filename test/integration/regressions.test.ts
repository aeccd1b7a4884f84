import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/identity/keys.js';
import { rowOf } from '../support/ledger.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { openAiSse, startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatChunks, chatUsage } from '../support/wire.js';

let upstream: MockUpstream;
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  upstream = await startMockUpstream();
  const keys = join(mkdtempSync(join(tmpdir(), 'spendgate-keys-')), 'keys.yaml');
  key = createKey(keys, { org: 'tight', tags: { env: 'prod' } }).key;
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url}, api_key_env: OPENAI_API_KEY }
identity: { api_keys: { file: "${keys}" } }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: tight, scope: { org: tight }, limit_usd: 0.0003, period: 1d }
`,
    { env: { OPENAI_API_KEY: 'sk-test' } },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('regressions', () => {
  it('never appends a budget ending after a stream that already ended in the same read', async () => {
    // The whole stream, its usage chunk and [DONE] arrive as one read, past the budget.
    const deltas = Array.from({ length: 9 }, () => ' word');
    upstream.reply('/v1/chat/completions', {
      kind: 'sse',
      chunks: [openAiSse(chatChunks('gpt-4o', deltas, chatUsage(20, 9))).join('')],
    });

    const res = await fetch(`${gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: 'gpt-4o',
        stream: true,
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    const text = await res.text();
    const row = await rowOf(gateway, res.headers.get('x-spendgate-request-id'));

    expect(res.status).toBe(200);
    expect(text.match(/\[DONE\]/g)).toHaveLength(1);
    expect(text).not.toContain('"finish_reason":"length"');
    expect(row.usageSource).toBe('provider');
    expect([row.inputTokens, row.outputTokens]).toEqual([20, 9]);
    expect(row.flags).not.toContain('budget_cut');
  });

  it('applies a virtual key’s own tags to its requests', async () => {
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      body: {
        choices: [
          { index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'stop' },
        ],
        usage: chatUsage(5, 1),
      },
    });

    const res = await fetch(`${gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: 'gpt-4o',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    const row = await rowOf(gateway, res.headers.get('x-spendgate-request-id'));

    expect(res.status).toBe(200);
    expect(row.tags).toEqual({ env: 'prod' });
    // The gateway's own count sits beside the provider's, for non-streamed rows too.
    expect(row.countedOutputTokens).toBe(1);
  });
});
