import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// REPORTED, NOT FIXED HERE (src/proxy/ and src/ledger/sqlite.ts belong to others): an upstream
// that reports absurd usage (10^15 prompt tokens: $2.5 billion at $2.50/M) gives a row whose
// cost passes the 64-bit pico-dollar column. SQLite refuses the batch, the writer keeps the
// rows and retries the same batch every second, and from then on no row of any request is
// written. `it.fails` keeps the suite green while the bug stands; drop `.fails` once it is fixed.
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', (req) => ({
    kind: 'json',
    body: chatCompletion(
      'gpt-4o',
      'OK',
      req.headers['x-absurd'] ? chatUsage(1e15, 0) : chatUsage(1_000, 10),
    ),
  }));
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
`);
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };

describe('ledger: a row dearer than a row column can hold', () => {
  it.fails('does not stop the rows of later requests from being written', async () => {
    const absurd = await post(`${gateway.url}/openai/v1/chat/completions`, chat, {
      'x-absurd': '1',
    });
    const normal = await post(`${gateway.url}/openai/v1/chat/completions`, chat);

    expect(absurd.status).toBe(200);
    const row = await rowOf(gateway, normal.headers.get('x-spendgate-request-id'), 2_500);
    expect(row.costPico).toBe(2_600_000_000n);
  });
});
