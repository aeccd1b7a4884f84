import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CASE_11A,
  CASE_17A,
  CASE_17B,
  CASE_17C,
  CASE_17D,
  CASE_9A,
  CASE_9B,
} from '../support/case-bytes.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { costUsd, rowOf } from '../support/ledger.js';
import {
  openAiSse,
  startMockUpstream,
  type MockReply,
  type MockUpstream,
} from '../support/mock-upstream.js';

// Cases 9, 11, 13 (its cost part) and 17 of CASES.md: streamed usage through the real gateway,
// with the case's bytes sent exactly as written and the client's bytes checked as received.
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
  compat: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
    gpt-3.5-turbo-instruct: { input_per_mtok: 1.50, output_per_mtok: 2.00 }
    claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
`);
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

/** Scripts the upstream for `path` (after the upstream name), sends `body`, reads the row. */
async function through(path: string, body: string, reply: MockReply) {
  upstream.reply(path.replace(/^\/[^/]+/, ''), reply);
  const answer = await post(gateway.url + path, body);
  const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
  return { ...answer, row, cost: costUsd(row), sent: upstream.received.at(-1)?.body ?? '' };
}

/** One chunk per SSE event, so the gateway reads them separately. */
const perEvent = (stream: string): string[] => stream.split(/(?<=\n\n)/);
const oneChunk = (stream: string): MockReply => ({ kind: 'sse', chunks: [stream] });

/** Cost in exact pico-dollars at gpt-4o-mini's $0.15/M in and $0.60/M out. */
const miniPico = (input: number, output: number) =>
  BigInt(input) * 150_000n + BigInt(output) * 600_000n;

describe('case 9: responses api streaming, usage only in the terminal event', () => {
  const streamed = '{"model":"gpt-4o-mini","input":"Say hi","stream":true}';

  it('A: passes the events on unchanged and bills response.completed: $0.00036', async () => {
    const reply = oneChunk(CASE_9A);

    const { status, text, row, cost } = await through('/openai/v1/responses', streamed, reply);

    expect(status).toBe(200);
    expect(text).toBe(CASE_9A);
    expect(row).toMatchObject({
      endpoint: '/v1/responses',
      streamed: true,
      inputTokens: 1200,
      outputTokens: 300,
      usageSource: 'provider',
    });
    expect(cost).toBe('0.00036');
  });

  it('A, not streamed: the twin records the same cost', async () => {
    const usage = {
      input_tokens: 1200,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 300,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 1500,
    };
    const model = 'gpt-4o-mini';
    const body = { id: 'resp_1', object: 'response', status: 'completed', model, usage };
    const request = '{"model":"gpt-4o-mini","input":"Say hi"}';

    const { row, cost } = await through('/openai/v1/responses', request, {
      kind: 'json',
      body: { ...body, output: [] },
    });

    expect(row).toMatchObject({ streamed: false, inputTokens: 1200, outputTokens: 300 });
    expect(cost).toBe('0.00036');
  });

  it('B: bills a response.incomplete stream and marks it incomplete: $0.0003336', async () => {
    const { text, row, cost } = await through('/openai/v1/responses', streamed, oneChunk(CASE_9B));

    expect(text).toBe(CASE_9B);
    expect(row).toMatchObject({ streamed: true, inputTokens: 1200, outputTokens: 256 });
    expect(row.flags).toContain('incomplete');
    expect(cost).toBe('0.0003336');
  });
});

describe('case 11: stream_options.include_usage on every openai streaming endpoint', () => {
  const chatStart = {
    id: 'chatcmpl-11',
    object: 'chat.completion.chunk',
    created: 1796371200,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }],
    usage: null,
  };
  const chatStop = { ...chatStart, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  const usageChunk = {
    object: 'chat.completion.chunk',
    choices: [],
    usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 },
  };
  const chatRequest =
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}],"stream":true}';

  it('A: forwards the option on legacy completions and passes the usage on: $0.0025', async () => {
    const body =
      '{"model":"gpt-3.5-turbo-instruct","prompt":"Say hi","stream":true,' +
      '"stream_options":{"include_usage":true}}';

    const { text, row, cost, sent } = await through('/openai/v1/completions', body, {
      kind: 'sse',
      chunks: perEvent(CASE_11A),
    });

    expect(sent).toContain('"stream_options":{"include_usage":true}');
    expect(text).toBe(CASE_11A);
    expect(row).toMatchObject({ endpoint: '/v1/completions', inputTokens: 1000 });
    expect(row.outputTokens).toBe(500);
    expect(cost).toBe('0.0025');
  });

  it('B: asks for usage on chat and hides the usage chunk from the client: $0.00045', async () => {
    const chunks = openAiSse([chatStart, chatStop, usageChunk]);

    const { text, row, cost, sent } = await through('/openai/v1/chat/completions', chatRequest, {
      kind: 'sse',
      chunks,
    });

    expect(sent).toContain('"stream_options":{"include_usage":true}');
    expect(text).toBe(openAiSse([chatStart, chatStop]).join(''));
    expect(text).not.toContain('"choices":[]');
    expect(row).toMatchObject({ inputTokens: 1000, outputTokens: 500, usageSource: 'provider' });
    expect(cost).toBe('0.00045');
  });

  it('B: hides the usage chunk when it comes in one read with the others', async () => {
    const chunks = openAiSse([chatStart, chatStop, usageChunk]);

    const { text, row, cost } = await through('/openai/v1/chat/completions', chatRequest, {
      kind: 'sse',
      chunks: [chunks.join('')],
    });

    expect(text).toBe(openAiSse([chatStart, chatStop]).join(''));
    expect(row).toMatchObject({ inputTokens: 1000, outputTokens: 500, usageSource: 'provider' });
    expect(cost).toBe('0.00045');
  });

  it('C: estimates both counts when the upstream sends no usage, and prices them', async () => {
    const { row, cost } = await through('/openai/v1/chat/completions', chatRequest, {
      kind: 'sse',
      chunks: openAiSse([chatStart, chatStop]),
    });

    expect(row.usageSource).toBe('estimated');
    expect(row.inputTokens).toBeGreaterThan(0);
    expect(row.outputTokens).toBeGreaterThan(0);
    expect(row.costPico).toBe(miniPico(row.inputTokens, row.outputTokens));
    expect(cost).not.toBe('0');
  });
});

describe('case 13: a streamed request is priced from the gateway table, not a cost of 0', () => {
  const request = {
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: 'Say OK.' }],
    max_tokens: 4000,
  };
  const usage = { prompt_tokens: 12, completion_tokens: 4000, total_tokens: 4012, cost: 0 };
  const content = {
    id: 'c13',
    object: 'chat.completion.chunk',
    model: 'claude-sonnet-4-5',
    choices: [{ index: 0, delta: { content: 'OK' }, finish_reason: 'length' }],
  };
  const last = { ...content, choices: [], usage };

  it('records $0.060036 for the streamed request despite the upstream cost of 0', async () => {
    const body = JSON.stringify({ ...request, stream: true });

    const { status, row, cost } = await through('/compat/v1/chat/completions', body, {
      kind: 'sse',
      chunks: openAiSse([content, last]),
    });

    expect(status).toBe(200);
    expect(row).toMatchObject({ upstream: 'compat', inputTokens: 12, outputTokens: 4000 });
    expect(row.streamed).toBe(true);
    expect(cost).toBe('0.060036');
  });

  it('records exactly the same for the non-streamed twin', async () => {
    const message = { role: 'assistant', content: 'OK' };
    const reply = {
      id: 'c13',
      object: 'chat.completion',
      model: 'claude-sonnet-4-5',
      choices: [{ index: 0, message, finish_reason: 'length' }],
      usage,
    };

    const { row, cost } = await through('/compat/v1/chat/completions', JSON.stringify(request), {
      kind: 'json',
      body: reply,
    });

    expect(row).toMatchObject({ streamed: false, inputTokens: 12, outputTokens: 4000 });
    expect(cost).toBe('0.060036');
  });
});

describe('case 17: the final event arrives without its closing blank line', () => {
  const chatRequest = JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say OK' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const chat = (stream: MockReply) => through('/openai/v1/chat/completions', chatRequest, stream);
  const billed = { inputTokens: 2000, outputTokens: 500, usageSource: 'provider' };

  it('A: bills a usage chunk ending in one newline, and terminates it for the client', async () => {
    const { text, row, cost } = await chat(oneChunk(CASE_17A));

    expect(text.endsWith('}}\n\n')).toBe(true);
    expect(text).toBe(CASE_17A + '\n');
    expect(row).toMatchObject(billed);
    expect(cost).toBe('0.0006');
  });

  it('B: bills a usage chunk ending right after its json, and terminates it', async () => {
    const { text, row, cost } = await chat(oneChunk(CASE_17B));

    expect(text.endsWith('}}\n\n')).toBe(true);
    expect(text).toBe(CASE_17B + '\n\n');
    expect(row).toMatchObject(billed);
    expect(cost).toBe('0.0006');
  });

  it('C: bills a response.completed ending in one newline, and terminates it', async () => {
    const body = '{"model":"gpt-4o-mini","input":"Say OK","stream":true}';

    const { text, row, cost } = await through('/openai/v1/responses', body, oneChunk(CASE_17C));

    expect(text.endsWith('}}\n\n')).toBe(true);
    expect(text).toBe(CASE_17C + '\n');
    expect(row).toMatchObject(billed);
    expect(cost).toBe('0.0006');
  });

  it('D: drops a fragment cut mid-json and records the stream incomplete, estimated', async () => {
    const whole = CASE_17D.slice(0, CASE_17D.lastIndexOf('data: '));

    const { text, row, cost } = await chat(oneChunk(CASE_17D));

    expect(text).toBe(whole);
    expect(text).not.toContain('prompt_tok');
    expect(row.flags).toContain('incomplete');
    expect(row.usageSource).toBe('estimated');
    expect(row.inputTokens).toBeGreaterThan(0);
    expect(row.outputTokens).toBeGreaterThan(0);
    expect(row.costPico).toBe(miniPico(row.inputTokens, row.outputTokens));
    expect(cost).not.toBeNull();
  });

  it('D, with a reset: never passes the fragment on and charges what was delivered', async () => {
    const { text, row } = await chat({ kind: 'sse', chunks: [CASE_17D], reset: true });

    expect(text.startsWith(CASE_17D.slice(0, CASE_17D.lastIndexOf('data: ')))).toBe(true);
    expect(text).not.toContain('prompt_tok');
    expect(row.flags).toContain('incomplete');
    expect(row.usageSource).toBe('estimated');
    expect(row.outputTokens).toBeGreaterThan(0);
  });

  it('A and C: the openai sdk, a spec-following decoder, sees the final event', async () => {
    const client = new OpenAI({ apiKey: 'sk-client', baseURL: `${gateway.url}/openai/v1` });
    upstream.reply('/v1/chat/completions', oneChunk(CASE_17A));
    upstream.reply('/v1/responses', oneChunk(CASE_17C));

    const chunks = [];
    const chat = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say OK' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of chat) chunks.push(chunk);
    const events = [];
    const responses = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Say OK',
      stream: true,
    });
    for await (const event of responses) events.push(event);

    expect(chunks.at(-1)?.usage?.prompt_tokens).toBe(2000);
    expect(events.at(-1)?.type).toBe('response.completed');
  });
});
