import { request } from 'node:http';
import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiSse, startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockUpstream;
let gateway: TestGateway;
let closedPort: number;

const chat = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(gateway.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  upstream = await startMockUpstream();
  closedPort = await freePort();
  gateway = await startGateway(`
listen: { max_body_mb: 0.01 }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
  anthropic: { format: anthropic, base_url: ${upstream.url} }
  slow: { format: openai, base_url: ${upstream.url}, timeout: 300ms }
  down: { format: openai, base_url: http://127.0.0.1:${closedPort} }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
`);
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: {
      id: 'c1',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    },
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

async function stillServes(): Promise<void> {
  const res = await post('/openai/v1/chat/completions', chat('hi'));
  expect(res.status).toBe(200);
}

describe('bad input: clear errors in the API format, and the gateway keeps serving', () => {
  it('answers malformed JSON with 400 invalid_request in the OpenAI format', async () => {
    const res = await post('/openai/v1/chat/completions', '{"model": "gpt-4o-mini", ');

    expect(res.status).toBe(400);
    expect(res.headers.get('x-spendgate-reason')).toBe('invalid_request');
    const body = JSON.parse(res.text);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toMatch(/not valid JSON/);
    await stillServes();
  });

  it('answers malformed JSON on an Anthropic route in the Anthropic format', async () => {
    const res = await post('/anthropic/v1/messages', 'not json');

    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/not valid JSON/) },
    });
  });

  it('refuses a model name over 256 characters, recording the row without the name', async () => {
    const res = await post('/openai/v1/chat/completions', chat('hi', { model: 'm'.repeat(5_000) }));

    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error).toMatchObject({
      code: 'invalid_request',
      message: 'the model name is 5000 characters long; at most 256 are accepted',
    });
    const row = (await gateway.rows()).find(
      (r) => r.requestId === res.headers.get('x-spendgate-request-id'),
    );
    expect(row).toMatchObject({ decision: 'reject', reason: 'invalid_request', model: '' });
    await stillServes();
  });

  it('reads a gzip body and forwards it decoded; a compressed body it was not told of is a 400', async () => {
    const body = gzipSync(chat('hi'));
    const before = upstream.received.length;

    const told = await fetch(gateway.url + '/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    const untold = await fetch(gateway.url + '/openai/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

    expect(told.status).toBe(200);
    const forwarded = upstream.received.slice(before);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]?.body).toBe(chat('hi'));
    expect(forwarded[0]?.headers['content-encoding']).toBeUndefined();
    expect(untold.status).toBe(400);
    const message = ((await untold.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(/^the request body is not valid JSON: /);
    // The parser quotes the bytes where it failed: binary ones come back as escapes.
    expect(message).toContain('\\u001f');
    expect(message).not.toMatch(/[\u0000-\u0008\u001f\ufffd]/);
  });

  it('refuses a body over the configured limit with 413', async () => {
    const res = await post('/openai/v1/chat/completions', chat('x'.repeat(20_000)));

    expect(res.status).toBe(413);
    expect(res.headers.get('x-spendgate-reason')).toBe('request_too_large');
    await stillServes();
  });

  it('answers an unknown upstream with 404 unknown_upstream', async () => {
    const res = await post('/nope/v1/chat/completions', chat('hi'));

    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.code).toBe('unknown_upstream');
  });

  it('repeats only the first 100 characters of a long unknown upstream name', async () => {
    const name = 'x'.repeat(5_000);

    const res = await post(`/${name}/v1/chat/completions`, chat('hi'));

    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.message).toBe(
      `no upstream named "${'x'.repeat(100)}…"; configured: /openai, /anthropic, /slow, /down`,
    );
  });

  it('answers 502 when the upstream refuses connections, and records the failure', async () => {
    const res = await post('/down/v1/chat/completions', chat('hi'));

    expect(res.status).toBe(502);
    // What failed, not where: the address the connection was refused at stays in the log.
    expect(JSON.parse(res.text).error).toMatchObject({
      code: 'upstream_unavailable',
      message: 'upstream "down" failed: ECONNREFUSED (connect)',
    });
    const row = (await gateway.rows()).find(
      (r) => r.requestId === res.headers.get('x-spendgate-request-id'),
    );
    expect(row).toMatchObject({
      decision: 'error',
      reason: 'upstream_unavailable',
      status: 502,
      costPico: 0n,
    });
    await stillServes();
  });

  it('answers 502 in the API format when a success is not JSON, and charges nothing', async () => {
    const page = '<html><body>Sign in to the network</body></html>';
    upstream.reply('/portal/chat/completions', {
      kind: 'raw',
      headers: { 'content-type': 'text/html' },
      body: page,
    });
    upstream.reply('/portal/v1/messages', { kind: 'raw', body: '{"type":"message",' });

    const openai = await post('/openai/portal/chat/completions', chat('hi'));
    const anthropic = await post(
      '/anthropic/portal/v1/messages',
      JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 10, messages: [] }),
    );

    expect(openai.status).toBe(502);
    expect(JSON.parse(openai.text).error).toEqual({
      message:
        'upstream "openai" answered 200 with a body that is not a JSON object (48 bytes, content-type text/html)',
      type: 'upstream_unavailable',
      code: 'upstream_unavailable',
    });
    expect(anthropic.status).toBe(502);
    expect(JSON.parse(anthropic.text)).toEqual({
      type: 'error',
      error: {
        type: 'api_error',
        message:
          'upstream "anthropic" answered 200 with a body that is not a JSON object (18 bytes, content-type application/json)',
      },
    });
    const rows = await gateway.rows();
    for (const res of [openai, anthropic]) {
      const row = rows.find((r) => r.requestId === res.headers.get('x-spendgate-request-id'));
      expect(row).toMatchObject({
        status: 502,
        decision: 'error',
        reason: 'upstream_unavailable',
        costPico: 0n,
        flags: ['upstream_error'],
      });
    }
    await stillServes();
  });

  it('reads an answer the upstream compressed although asked not to, and passes a 204 on', async () => {
    const completion = {
      id: 'c2',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'OK' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 },
    };
    upstream.reply('/zipped/chat/completions', {
      kind: 'raw',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(completion)),
    });
    upstream.reply('/empty/chat/completions', { kind: 'raw', status: 204, body: '' });

    const zipped = await post('/openai/zipped/chat/completions', chat('hi'));
    const empty = await post('/openai/empty/chat/completions', chat('hi'));

    // 1,000 × 0.15/M + 100 × 0.60/M
    expect([zipped.status, zipped.headers.get('x-spendgate-cost-usd')]).toEqual([200, '0.00021']);
    expect(JSON.parse(zipped.text)).toEqual(completion);
    expect(empty.status).toBe(204);
  });

  it('answers 504 when the upstream does not answer within its timeout', async () => {
    upstream.reply('/slowpath/chat/completions', { kind: 'hang' });

    const res = await post('/slow/slowpath/chat/completions', chat('hi'));

    expect(res.status).toBe(504);
    expect(JSON.parse(res.text).error.code).toBe('upstream_unavailable');
    await stillServes();
  });

  it('ends a stream the upstream resets with an error event and charges what was delivered', async () => {
    upstream.reply('/reset/chat/completions', {
      kind: 'sse',
      chunks: openAiSse(
        [
          {
            id: 'r',
            object: 'chat.completion.chunk',
            model: 'gpt-4o-mini',
            choices: [{ index: 0, delta: { content: 'Hello there friend' }, finish_reason: null }],
          },
        ],
        false,
      ),
      reset: true,
    });

    const res = await post('/openai/reset/chat/completions', chat('hi', { stream: true }));

    expect(res.status).toBe(200);
    expect(res.text).toContain('Hello there friend');
    expect(res.text).toContain('"code":"upstream_unavailable"');
    const row = (await gateway.rows()).find(
      (r) => r.requestId === res.headers.get('x-spendgate-request-id'),
    );
    expect(row?.flags).toContain('upstream_reset');
    expect(row?.usageSource).toBe('estimated');
    expect(row?.outputTokens).toBeGreaterThan(0);
    expect(row?.inputTokens).toBeGreaterThan(0);
    await stillServes();
  });

  it('charges the tokens already delivered when the client disconnects mid-stream', async () => {
    upstream.reply('/hang/chat/completions', {
      kind: 'sse',
      chunks: openAiSse(
        [
          {
            id: 'h',
            object: 'chat.completion.chunk',
            model: 'gpt-4o-mini',
            choices: [{ index: 0, delta: { content: 'one two three four' }, finish_reason: null }],
          },
        ],
        false,
      ),
      hang: true,
    });

    const requestId = await new Promise<string>((resolve, reject) => {
      const body = chat('hi', { stream: true });
      const req = request(
        gateway.url + '/openai/hang/chat/completions',
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve(String(res.headers['x-spendgate-request-id']));
          });
        },
      );
      req.on('error', () => {});
      req.end(body);
      setTimeout(() => reject(new Error('no data')), 5_000);
    });

    await waitFor(async () => (await gateway.rows()).some((r) => r.requestId === requestId));
    const row = (await gateway.rows()).find((r) => r.requestId === requestId);
    expect(row?.flags).toContain('client_disconnected');
    expect(row?.outputTokens).toBe(4);
    expect(row?.costPico).toBeGreaterThan(0n);
    await stillServes();
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
