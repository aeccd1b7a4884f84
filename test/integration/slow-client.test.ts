import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { gatewayOverMock } from '../support/gateway.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { openAiSse } from '../support/mock-upstream.js';

// A client that reads slower than the upstream sends: the gateway must hold the upstream back
// (not buffer without bound, not drop or reorder bytes) and still charge the stream exactly.
const env = gatewayOverMock(
  (url) => `
upstreams:
  openai: { format: openai, base_url: ${url} }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
`,
);

/**
 * Sends `body` to `path` and reads the answer slowly: nothing for the first 300 ms, then one
 * chunk every 2 ms. Resolves with the status, the request id and every byte received.
 */
function slowClient(
  path: string,
  method: string,
  body: string | null,
): Promise<{ status: number; id: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(env.gateway.url + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.pause();
      setTimeout(() => res.resume(), 300);
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        res.pause();
        setTimeout(() => res.resume(), 2);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          id: String(res.headers['x-spendgate-request-id']),
          bytes: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.end(body ?? undefined);
  });
}

describe('a client slower than its upstream', () => {
  it('gets every byte of a 2 MB stream in order, and the stream is charged exactly', async () => {
    const delta = 'lorem ipsum dolor sit amet, '.repeat(150); // 4,200 characters
    const payloads: unknown[] = Array.from({ length: 500 }, () => ({
      id: 'chatcmpl-slow',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { content: delta }, finish_reason: null }],
    }));
    payloads.push({
      id: 'chatcmpl-slow',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 1000, total_tokens: 1010 },
    });
    const chunks = openAiSse(payloads);
    env.upstream.reply('/v1/chat/completions', { kind: 'sse', chunks, gapMs: 0 });

    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say a lot' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const answer = await slowClient('/openai/v1/chat/completions', 'POST', body);

    expect(answer.status).toBe(200);
    expect(answer.bytes.length).toBeGreaterThan(2_000_000);
    expect(answer.bytes.equals(Buffer.from(chunks.join('')))).toBe(true);
    const row = await rowOf(env.gateway, answer.id);
    expect(row).toMatchObject({ streamed: true, outputTokens: 1000, usageSource: 'provider' });
    // 10 × $0.15/M + 1,000 × $0.60/M
    expect(costUsd(row)).toBe('0.0006015');
  });

  it('gets every byte of a 2 MB unmetered answer in order', async () => {
    const file = Buffer.alloc(2_500_000);
    for (let i = 0; i < file.length; i++) file[i] = (i * 7 + (i >> 11)) & 0xff;
    env.upstream.reply('/v1/files/file-big/content', {
      kind: 'raw',
      headers: { 'content-type': 'application/octet-stream' },
      body: file,
    });

    const answer = await slowClient('/openai/v1/files/file-big/content', 'GET', null);

    expect(answer.status).toBe(200);
    expect(answer.bytes.equals(file)).toBe(true);
    const row = await rowOf(env.gateway, answer.id);
    expect(row.flags).toContain('unmetered');
    expect(row.status).toBe(200);
  });
});
