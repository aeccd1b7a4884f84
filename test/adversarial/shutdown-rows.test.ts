import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { openAiSse, startMockUpstream } from '../support/mock-upstream.js';

// SPEC "Bad input" and docs/behaviour.md "Ledger": a graceful stop lets requests in flight
// finish for a grace period, then writes every queued row. A stream that outlives the grace is
// cut, but its row (charged for what was delivered) must still be in the SQLite file.
const chunk = {
  id: 'c',
  object: 'chat.completion.chunk',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }],
};

function openStream(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url + '/openai/v1/chat/completions',
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        resolve(String(res.headers['x-spendgate-request-id']));
        res.on('data', () => undefined);
        res.on('error', () => undefined);
      },
    );
    req.on('error', () => undefined);
    req.on('close', () => undefined);
    req.end(
      JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    );
    setTimeout(() => reject(new Error('no response headers')), 3000).unref();
  });
}

describe('graceful stop with streams in flight past the grace period', () => {
  it('writes the row of every in-flight stream to the sqlite file', async () => {
    const upstream = await startMockUpstream();
    upstream.reply('/v1/chat/completions', {
      kind: 'sse',
      chunks: openAiSse([chunk], false),
      hang: true,
    });
    const gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
`);
    const ids = await Promise.all([openStream(gateway.url), openStream(gateway.url)]);
    await new Promise((resolve) => setTimeout(resolve, 100));

    await gateway.close(300);
    await upstream.close();

    const db = new Database(join(gateway.dir, 'spendgate.db'), { readonly: true });
    const found = ids.map(
      (id) =>
        (
          db.prepare('SELECT COUNT(*) AS n FROM requests WHERE request_id = ?').get(id) as {
            n: number;
          }
        ).n,
    );
    db.close();
    expect(found).toEqual([1, 1]);
  });
});
