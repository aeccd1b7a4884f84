import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatBody, post } from '../support/http.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockReply, type MockUpstream } from '../support/mock-upstream.js';
import { anthropicEvents, anthropicMessage, namedSse } from '../support/wire.js';

// Cases 1, 2, 3, 5, 6, 7 and 8 of CASES.md through the real gateway: the mock upstream answers
// with each case's usage, and the ledger row must hold the case's exact cost. Every case's price
// table is configured at once; no two of them give one model different prices.
const PRICING = `
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, cached_input_per_mtok: 1.25, output_per_mtok: 10.00 }
    gpt-4o-2024-05-13: { input_per_mtok: 5, output_per_mtok: 15 }
    claude-3-5-sonnet-20241022: { input_per_mtok: 3, output_per_mtok: 15 }
    claude-3-7-sonnet-20250219:
      input_per_mtok: 3.00
      cache_write_per_mtok: 3.75
      cache_write_1h_per_mtok: 6.00
      cached_input_per_mtok: 0.30
      output_per_mtok: 15.00
    gpt-5-nano: { input_per_mtok: 0.05, output_per_mtok: 0.40 }
    gpt-4-1106-preview: { input_per_mtok: 10, output_per_mtok: 30 }
    gpt-4: { input_per_mtok: 30, output_per_mtok: 60 }
    gpt-4o-mini-2024-07-18:
      { input_per_mtok: 0.15, cached_input_per_mtok: 0.075, output_per_mtok: 0.60 }
    ft:gpt-4o-mini-2024-07-18:
      { input_per_mtok: 0.30, cached_input_per_mtok: 0.15, output_per_mtok: 1.20 }
    ft:gpt-4o-2024-08-06:
      { input_per_mtok: 3.75, cached_input_per_mtok: 1.875, output_per_mtok: 15.00 }
    gpt-audio:
      input_per_mtok: 2.50
      output_per_mtok: 10
      input_audio_per_mtok: 40
      output_audio_per_mtok: 80
    gpt-image-1:
      input_per_mtok: 5
      input_image_per_mtok: 8
      output_per_mtok: 10
      output_image_per_mtok: 32
`;

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(`
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
  anthropic: { format: anthropic, base_url: ${upstream.url} }
  azure:
    format: azure-openai
    base_url: ${upstream.url}
    deployments: { chat-prod-eu: gpt-4-1106-preview, gpt-audio: gpt-audio }
${PRICING}`);
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

/** Scripts the upstream's answer for `path`, sends `body` through the gateway, reads the row. */
async function through(path: string, body: string, reply: MockReply, headers = {}) {
  upstream.reply(path.split('?')[0]!.replace(/^\/[^/]+/, ''), reply);
  const answer = await post(gateway.url + path, body, headers);
  const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
  return { ...answer, row, cost: costUsd(row) };
}

function chatReply(model: string, usage: unknown): MockReply {
  const message = { role: 'assistant', content: 'OK' };
  const choices = [{ index: 0, message, finish_reason: 'stop' }];
  return { kind: 'json', body: { id: 'c', object: 'chat.completion', model, choices, usage } };
}

function responsesReply(model: string, usage: unknown): MockReply {
  const output = [
    {
      type: 'message',
      id: 'msg_1',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'OK', annotations: [] }],
    },
  ];
  return {
    kind: 'json',
    body: { id: 'resp_1', object: 'response', status: 'completed', model, output, usage },
  };
}

const chat = (model: string, usage: unknown) =>
  through('/openai/v1/chat/completions', chatBody(model), chatReply(model, usage));

describe('case 1: openai cached prompt tokens are a subset of prompt_tokens', () => {
  it('A: bills a chat completion with 10,240 cached of 12,000 at $0.0252', async () => {
    const { status, row, cost, headers } = await chat('gpt-4o', {
      prompt_tokens: 12000,
      completion_tokens: 800,
      total_tokens: 12800,
      prompt_tokens_details: { cached_tokens: 10240 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });

    expect(status).toBe(200);
    expect(row).toMatchObject({ inputTokens: 12000, cachedInputTokens: 10240, outputTokens: 800 });
    expect(cost).toBe('0.0252');
    expect(headers.get('x-spendgate-cost-usd')).toBe('0.0252');
  });

  it('B: bills the same call on the responses api identically', async () => {
    const usage = {
      input_tokens: 12000,
      input_tokens_details: { cached_tokens: 10240 },
      output_tokens: 800,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12800,
    };
    const body = JSON.stringify({ model: 'gpt-4o', input: 'Say hi' });

    const reply = responsesReply('gpt-4o', usage);

    const { row, cost } = await through('/openai/v1/responses', body, reply);

    expect(row).toMatchObject({ inputTokens: 12000, cachedInputTokens: 10240, outputTokens: 800 });
    expect(row.endpoint).toBe('/v1/responses');
    expect(cost).toBe('0.0252');
  });
});

describe('case 2: anthropic cache writes and reads are separate from input_tokens', () => {
  const model = 'claude-3-7-sonnet-20250219';
  const body = JSON.stringify({
    model,
    max_tokens: 1024,
    messages: [{ role: 'user', content: 'Say hi' }],
  });
  const messages = (usage: Record<string, unknown>) =>
    through('/anthropic/v1/messages', body, {
      kind: 'json',
      body: anthropicMessage(model, 'OK', usage),
    });

  it('A: bills 20,000 cache-written tokens once, at the 5-minute write rate', async () => {
    const { row, cost } = await messages({
      input_tokens: 12,
      cache_creation_input_tokens: 20000,
      cache_read_input_tokens: 0,
      output_tokens: 400,
    });

    expect(row).toMatchObject({
      inputTokens: 20012,
      cacheWriteTokens: 20000,
      cachedInputTokens: 0,
      outputTokens: 400,
      provider: 'anthropic',
    });
    expect(cost).toBe('0.081036');
  });

  it('A, streamed: bills the usage of message_start and message_delta the same', async () => {
    const usage = {
      input_tokens: 12,
      cache_creation_input_tokens: 20000,
      cache_read_input_tokens: 0,
      output_tokens: 400,
    };
    const streamed = body.replace('"max_tokens"', '"stream":true,"max_tokens"');

    const { row, cost } = await through('/anthropic/v1/messages', streamed, {
      kind: 'sse',
      chunks: namedSse(anthropicEvents(model, ['O', 'K'], usage)),
    });

    expect(row).toMatchObject({ streamed: true, inputTokens: 20012, cacheWriteTokens: 20000 });
    expect(row.outputTokens).toBe(400);
    expect(cost).toBe('0.081036');
  });

  it('B: bills 20,000 cache-read tokens at the read rate', async () => {
    const { row, cost } = await messages({
      input_tokens: 12,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 20000,
      output_tokens: 400,
    });

    expect(row).toMatchObject({ inputTokens: 20012, cachedInputTokens: 20000 });
    expect(row.cacheWriteTokens).toBe(0);
    expect(cost).toBe('0.012036');
  });

  it('C: bills 1-hour cache writes at the 1-hour rate', async () => {
    const { row, cost } = await messages({
      input_tokens: 12,
      cache_creation_input_tokens: 20000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 20000 },
      output_tokens: 400,
    });

    expect(row).toMatchObject({ inputTokens: 20012, cacheWriteTokens: 20000, outputTokens: 400 });
    expect(cost).toBe('0.126036');
  });
});

describe('case 3: reasoning tokens are inside completion_tokens', () => {
  it('bills 1,000 output tokens, 832 of them reasoning, once: $0.000402', async () => {
    const { row, cost } = await chat('gpt-5-nano', {
      prompt_tokens: 40,
      completion_tokens: 1000,
      total_tokens: 1040,
      completion_tokens_details: {
        reasoning_tokens: 832,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    });

    expect(row).toMatchObject({ inputTokens: 40, outputTokens: 1000, reasoningTokens: 832 });
    expect(cost).toBe('0.000402');
  });
});

describe('case 5: azure deployment names and the model field azure returns', () => {
  const usage = { prompt_tokens: 5000, completion_tokens: 1000, total_tokens: 6000 };
  const azure = (deployment: string, upstreamModel: string) =>
    through(
      `/azure/openai/deployments/${deployment}/chat/completions?api-version=2024-06-01`,
      JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }] }),
      chatReply(upstreamModel, usage),
      { 'api-key': 'client-azure-key' },
    );

  it('A: prices by the configured base model, not the "gpt-4" azure answers with', async () => {
    const { status, row, cost } = await azure('chat-prod-eu', 'gpt-4');

    expect(status).toBe(200);
    expect(row).toMatchObject({
      model: 'gpt-4-1106-preview',
      deployment: 'chat-prod-eu',
      provider: 'azure',
      inputTokens: 5000,
      outputTokens: 1000,
    });
    expect(cost).toBe('0.08');
    expect(upstream.received.at(-1)?.url).toBe(
      '/openai/deployments/chat-prod-eu/chat/completions?api-version=2024-06-01',
    );
    expect(upstream.received.at(-1)?.headers['api-key']).toBe('client-azure-key');
  });

  it('B: serves an unmapped, unpriced deployment and records cost null, flagged', async () => {
    const { status, row, cost, headers } = await azure('team-x-bot', 'team-x-bot-v2');

    expect(status).toBe(200);
    expect(row).toMatchObject({ deployment: 'team-x-bot', inputTokens: 5000, outputTokens: 1000 });
    expect(cost).toBeNull();
    expect(row.flags).toContain('unpriced_model');
    expect(headers.get('x-spendgate-cost-usd')).toBeNull();
  });
});

describe('case 6: fine-tuned model names price at the fine-tuned rows of their base', () => {
  it('A: parses an empty suffix and bills $0.0066', async () => {
    const model = 'ft:gpt-4o-mini-2024-07-18:acme-corp::9xYzAb12';

    const { row, cost } = await chat(model, {
      prompt_tokens: 20000,
      prompt_tokens_details: { cached_tokens: 8000 },
      completion_tokens: 1500,
      total_tokens: 21500,
    });

    expect(row).toMatchObject({ model, inputTokens: 20000, cachedInputTokens: 8000 });
    expect(cost).toBe('0.0066');
  });

  it('B: parses a named suffix and bills $0.00525', async () => {
    const model = 'ft:gpt-4o-2024-08-06:acme-corp:support-bot:AbC123';

    const { row, cost } = await chat(model, {
      prompt_tokens: 1000,
      completion_tokens: 100,
      total_tokens: 1100,
    });

    expect(row.model).toBe(model);
    expect(cost).toBe('0.00525');
  });
});

describe('case 7: provider-prefixed and dated model names', () => {
  const usage = { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 };
  const table: [string, string | null, string[], string | null][] = [
    ['openai/gpt-4o', 'gpt-4o', [], '0.0035'],
    ['openai/gpt-4o-2024-05-13', 'gpt-4o-2024-05-13', [], '0.0065'],
    ['gpt-4o-2024-11-20', 'gpt-4o', ['price_alias'], '0.0035'],
    ['anthropic/claude-3-5-sonnet-20241022', 'claude-3-5-sonnet-20241022', [], '0.0045'],
    ['openai/gpt-9-unknown', null, ['unpriced_model'], null],
  ];

  for (const [raw, pricedAs, flags, expected] of table) {
    it(`prices ${raw} as ${pricedAs ?? 'nothing'}, keeping the raw name`, async () => {
      const { status, row, cost } = await chat(raw, usage);

      expect(status).toBe(200);
      expect(row).toMatchObject({ model: raw, resolvedModel: pricedAs });
      expect(row.flags).toEqual(flags);
      expect(cost).toBe(expected);
    });
  }
});

describe('case 8: audio and image tokens have their own rates', () => {
  const audioPath = '/azure/openai/deployments/gpt-audio/chat/completions?api-version=2025-01-01';
  const withText = {
    prompt_tokens: 1000,
    completion_tokens: 700,
    total_tokens: 1700,
    prompt_tokens_details: { text_tokens: 200, audio_tokens: 800, cached_tokens: 0 },
    completion_tokens_details: { text_tokens: 150, audio_tokens: 550, reasoning_tokens: 0 },
  };
  const withoutText = {
    prompt_tokens: 1000,
    completion_tokens: 700,
    total_tokens: 1700,
    prompt_tokens_details: { audio_tokens: 800 },
    completion_tokens_details: { audio_tokens: 550 },
  };
  const audioBody = JSON.stringify({ messages: [{ role: 'user', content: 'Say hi' }] });

  it('A: bills audio slices at audio rates on an azure audio deployment: $0.078', async () => {
    const { row, cost } = await through(audioPath, audioBody, chatReply('gpt-audio', withText));

    expect(row).toMatchObject({ model: 'gpt-audio', inputTokens: 1000, outputTokens: 700 });
    expect(cost).toBe('0.078');
  });

  it('A′: works the text share out as total minus audio when text_tokens is absent', async () => {
    const { cost } = await through(audioPath, audioBody, chatReply('gpt-audio', withoutText));

    expect(cost).toBe('0.078');
  });

  it('A, as azure/gpt-audio by name: bills the same $0.078', async () => {
    const { row, cost } = await chat('azure/gpt-audio', withText);

    expect(row.model).toBe('azure/gpt-audio');
    expect(cost).toBe('0.078');
  });

  it('B: bills image output at the image rate and text output at the text rate', async () => {
    const usage = {
      input_tokens: 340,
      input_tokens_details: { text_tokens: 40, image_tokens: 300 },
      output_tokens: 4200,
      output_tokens_details: { text_tokens: 200, image_tokens: 4000 },
      total_tokens: 4540,
    };
    const body = JSON.stringify({ model: 'gpt-image-1', input: 'Draw a cat' });

    const { row, cost } = await through(
      '/openai/v1/responses',
      body,
      responsesReply('gpt-image-1', usage),
    );

    expect(row).toMatchObject({ inputTokens: 340, outputTokens: 4200 });
    expect(cost).toBe('0.1326');
  });
});
