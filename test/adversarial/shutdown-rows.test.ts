import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { openAiSse, startMockUpstream, type MockReply } from '../support/mock-upstream.js';

// SPEC "Bad input" and docs/behaviour.md "Ledger": a graceful stop lets requests in flight
// finish for a grace period, then writes every queued row. A stream that outlives the grace is
// cut, but its row (charged for what was delivered) must still be in the SQLite file.
const chunk = {
  id: 'c',
  object: 'chat.completion.chunk',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }],
};

/** Opens a stream; resolves to its row id once the headers came, and fills `body` as it reads. */
function openStream(
  url: string,
  body: { text: string; ended: boolean } = { text: '', ended: false },
) {
  return new Promise<string>((resolve, reject) => {
    const req = request(
      url + '/openai/v1/chat/completions',
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        resolve(String(res.headers['x-spendgate-request-id']));
        res.on('data', (data: Buffer) => (body.text += data.toString()));
        res.on('end', () => (body.ended = true));
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

/** A one-line chat call, streamed or not. */
function postChat(url: string, stream: boolean): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream,
    }),
  });
}

/** A gateway in front of a mock upstream that gives every chat call `reply`. */
async function gatewayAnswering(reply: MockReply) {
  const upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', reply);
  const gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
`);
  return { upstream, gateway };
}

describe('graceful stop with streams in flight past the grace period', () => {
  it('writes the row of every in-flight stream to the sqlite file', async () => {
    const { upstream, gateway } = await gatewayAnswering({
      kind: 'sse',
      chunks: openAiSse([chunk], false),
      hang: true,
    });
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

describe('graceful stop: what a stream cut at the deadline tells its client and its row', () => {
  it('ends it with the API error event and records it as cut at shutdown, not as a client that left', async () => {
    const { upstream, gateway } = await gatewayAnswering({
      kind: 'sse',
      chunks: openAiSse([chunk], false),
      hang: true,
    });
    const body = { text: '', ended: false };
    const id = await openStream(gateway.url, body);
    await new Promise((resolve) => setTimeout(resolve, 100));

    await gateway.close(300);
    await upstream.close();

    expect(body.text).toBe(
      `data: ${JSON.stringify(chunk)}\n\n` +
        'data: {"error":{"message":"Spendgate is shutting down: this stream was cut before its end; retry the request","type":"upstream_unavailable","code":"upstream_unavailable"}}\n\n',
    );
    expect(body.ended).toBe(true);
    const db = new Database(join(gateway.dir, 'spendgate.db'), { readonly: true });
    const row = db
      .prepare(
        'SELECT decision, reason, flags, usage_source, output_tokens FROM requests WHERE request_id = ?',
      )
      .get(id);
    db.close();
    expect(row).toEqual({
      decision: 'error',
      reason: 'upstream_unavailable',
      flags: 'gateway_shutdown,incomplete',
      usage_source: 'estimated',
      output_tokens: 1,
    });
  });
});

describe('graceful stop: calls still waiting on the upstream at the deadline', () => {
  const cases: [string, MockReply, boolean][] = [
    ['a plain call whose upstream has not answered', { kind: 'hang' }, false],
    ['a stream whose upstream has not answered', { kind: 'hang' }, true],
    [
      'a plain call whose answer had begun',
      {
        kind: 'sse',
        headers: { 'content-type': 'application/json' },
        chunks: ['{"id":'],
        hang: true,
      },
      false,
    ],
  ];

  it.each(cases)(
    'stops %s, tells it to retry with 503, charges its prompt',
    async (_name, reply, stream) => {
      const { upstream, gateway } = await gatewayAnswering(reply);
      const answer = postChat(gateway.url + '/openai/v1/chat/completions', stream);
      await new Promise((resolve) => setTimeout(resolve, 100));

      const started = Date.now();
      const [res] = await Promise.all([answer, gateway.close(300)]);
      await upstream.close();

      expect(Date.now() - started).toBeLessThan(2_000);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: {
          message:
            'Spendgate is shutting down: the request was cut before its answer came; retry it',
          type: 'upstream_unavailable',
          code: 'upstream_unavailable',
        },
      });
      const db = new Database(join(gateway.dir, 'spendgate.db'), { readonly: true });
      const row = db
        .prepare('SELECT status, decision, reason, flags, usage_source, input_tokens FROM requests')
        .get();
      db.close();
      expect(row).toEqual({
        status: 503,
        decision: 'error',
        reason: 'upstream_unavailable',
        flags: 'gateway_shutdown,incomplete',
        usage_source: 'estimated',
        input_tokens: 8,
      });
    },
  );
});

describe('graceful stop: the shared deadline holds no request after it ended', () => {
  it('has no listener left once streams (some already whole when relayed) and plain calls end', async () => {
    const whole = openAiSse([chunk], true).join('');
    const { upstream, gateway } = await gatewayAnswering({
      kind: 'raw',
      headers: { 'content-type': 'text/event-stream' },
      body: whole,
    });
    upstream.reply('/plain/chat/completions', {
      kind: 'json',
      body: {
        id: 'c1',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 8, completion_tokens: 1, total_tokens: 9 },
      },
    });
    const post = (path: string, stream: boolean) =>
      postChat(gateway.url + path, stream).then((res) => res.text());

    const answers = await Promise.all([
      ...Array.from({ length: 10 }, () => post('/openai/v1/chat/completions', true)),
      ...Array.from({ length: 10 }, () => post('/openai/plain/chat/completions', false)),
    ]);

    expect(answers.filter((text) => text.includes('Hello') || text.includes('"OK"'))).toHaveLength(
      20,
    );
    expect(gateway.deps.shutdown.listenerCount('abort')).toBe(0);
    await gateway.close();
    await upstream.close();
  });
});
