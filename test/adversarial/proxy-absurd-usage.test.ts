import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../support/log-capture.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// An upstream that reports absurd usage (10^15 prompt tokens: $2.5 billion at $2.50/M) gives a
// row whose cost (2.5 * 10^21 pico-dollars) passes the signed 64-bit cost_pico column; the token
// counts themselves fit. SQLite used to refuse the whole batch, retried it every second, and from
// then on no row of any request was written. Now the refused row is set aside next to the
// database and the rows after it are written.
let upstream: MockUpstream;
let gateway: TestGateway;
const log = capturingLogger();

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
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
`,
    { logger: log.logger },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };

describe('ledger: a row dearer than a row column can hold', () => {
  it('does not stop the rows of later requests from being written', async () => {
    const absurd = await post(`${gateway.url}/openai/v1/chat/completions`, chat, {
      'x-absurd': '1',
    });
    const normal = await post(`${gateway.url}/openai/v1/chat/completions`, chat);

    expect(absurd.status).toBe(200);
    const row = await rowOf(gateway, normal.headers.get('x-spendgate-request-id'), 2_500);
    expect(row.costPico).toBe(2_600_000_000n);
  });

  it('sets the refused row aside next to the database, with its exact cost, and logs it once', async () => {
    const absurd = await post(`${gateway.url}/openai/v1/chat/completions`, chat, {
      'x-absurd': '1',
    });
    const id = absurd.headers.get('x-spendgate-request-id');
    await rowOf(
      gateway,
      (await post(`${gateway.url}/openai/v1/chat/completions`, chat)).headers.get(
        'x-spendgate-request-id',
      ),
    );

    const lines = readFileSync(join(gateway.dir, 'spendgate.db.rejected.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; item: { row: Record<string, unknown> } });
    const entry = lines.find((l) => l.item.row.requestId === id);
    expect(entry?.item.row.costPico).toBe('2500000000000000000000');
    expect(entry?.item.row.inputTokens).toBe(1e15);
    expect(entry?.reason).toBe('The bound string, buffer, or bigint is too big');
    const logged = log.lines.filter((l) => l.event === 'ledger.row_rejected' && l.requestId === id);
    expect(logged).toHaveLength(1);
    expect(logged[0]?.level).toBe(50);
    expect((await gateway.rows()).some((r) => r.requestId === id)).toBe(false);
  });
});
