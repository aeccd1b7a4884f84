import { describe, expect, it } from 'vitest';
import { postStream, relayGateway } from '../support/relay.js';
import { costUsd, rowOf } from '../support/ledger.js';

// OpenAI chunks are read by pattern (src/providers/openai/plain-chunk.ts) when they have
// OpenAI's exact shapes, else parsed. Each stream here is sent twice: as written, and with one
// extra space before every payload (`data:  {...}`: the data then starts with a space, which
// JSON.parse accepts and the patterns do not), so the second is always read by JSON.parse.
// The two rows must agree on every token count and on the cost.
const env = relayGateway({ timeout: '5s' });

const HEAD =
  '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1796371200,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_1",';
const text = (content: string, extra = '', finish = 'null'): string =>
  `${HEAD}"choices":[{"index":0,"delta":{"content":${content}},"logprobs":null,"finish_reason":${finish}}]${extra}}`;

/** Streams `payloads` (raw JSON texts) through the gateway, with `pad` after `data:`. */
async function run(name: string, payloads: string[], pad: string) {
  const path = `/${name}${pad ? '-parsed' : ''}/chat/completions`;
  env.upstream.reply(path, {
    kind: 'sse',
    chunks: [...payloads.map((p) => `data:${pad}${p}\n\n`), 'data: [DONE]\n\n'],
    gapMs: 1,
  });
  const res = await postStream(env, { path: `/v1${path}`, maxTokens: 500, includeUsage: true });
  const body = await res.text();
  const row = await rowOf(env.gateway, res.headers.get('x-spendgate-request-id'));
  return {
    body,
    figures: {
      inputTokens: row.inputTokens,
      cachedInputTokens: row.cachedInputTokens,
      outputTokens: row.outputTokens,
      reasoningTokens: row.reasoningTokens,
      countedOutputTokens: row.countedOutputTokens,
      usageSource: row.usageSource,
      cost: costUsd(row),
      flags: row.flags,
    },
  };
}

async function both(name: string, payloads: string[]) {
  const matched = await run(name, payloads, ' ');
  const parsed = await run(name, payloads, '  ');
  expect(matched.figures).toEqual(parsed.figures);
  return matched;
}

const USAGE =
  '"usage":{"prompt_tokens":1000,"completion_tokens":50,"total_tokens":1050,"prompt_tokens_details":{"cached_tokens":400,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":20,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}';

describe('plain-chunk reading agrees with JSON.parse', () => {
  it('usage chunk with nested details and an obfuscation field holding braces', async () => {
    const got = await both('obf', [
      text('"Hi"', ',"usage":null,"obfuscation":"{}"'),
      `${HEAD}"choices":[],${USAGE},"obfuscation":"}{\\"x\\":1}{"}`,
      `${HEAD}"choices":[],${USAGE},"obfuscation":"a}{b}"}`,
    ]);
    expect(got.figures).toEqual({
      inputTokens: 1000,
      cachedInputTokens: 400,
      outputTokens: 50,
      reasoningTokens: 20,
      countedOutputTokens: 1,
      usageSource: 'provider',
      cost: '0.0025',
      flags: [],
    });
  });

  it('usage chunk whose obfuscation spells a second usage, and one with a duplicate usage key', async () => {
    const got = await both('dup', [
      text('"Hi"', ',"usage":null'),
      `${HEAD}"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5},"obfuscation":"},\\"usage\\":{\\"prompt_tokens\\":999}"}`,
      `${HEAD}"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5},"usage":{"prompt_tokens":77,"completion_tokens":7}}`,
    ]);
    expect(got.figures.inputTokens).toBe(77);
    expect(got.figures.outputTokens).toBe(7);
    expect(got.figures.cost).toBe('0.0002625');
  });

  it('text chunks with escapes, astral characters, U+2028, key order changes and extra fields (no usage)', async () => {
    const got = await both('esc', [
      text('"caf\\u00e9 \\ud83d\\ude00 line\\nbreak \\"q\\" a\\/b \\\\"'),
      text('"raw \u00e9\u{1F600}\u2028 end"'),
      // Another key order and extra fields: parsed either way.
      `${HEAD}"choices":[{"delta":{"content":" reordered"},"index":0,"logprobs":null,"finish_reason":null}]}`,
      `${HEAD}"choices":[{"index":0,"delta":{"content":" extra","x":1},"logprobs":null,"finish_reason":null}]}`,
      text('" done"', '', '"stop"'),
    ]);
    expect(got.figures.usageSource).toBe('estimated');
    expect(got.figures.countedOutputTokens).toBe(20);
    expect(got.figures.outputTokens).toBe(20);
    expect(got.figures.flags).toEqual([]);
  });
});
