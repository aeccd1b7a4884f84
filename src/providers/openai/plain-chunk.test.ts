import { describe, expect, it } from 'vitest';
import { readTextChunk, readUsageChunk } from './plain-chunk.js';

const HEAD =
  '{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk",' +
  '"created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default",' +
  '"system_fingerprint":"fp_f9f4fb6dbf",';
const chunk = (delta: string, tail = ',"usage":null}', finish = 'null'): string =>
  `${HEAD}"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]${tail}`;
const usageChunk = (usage: string, tail = '}'): string =>
  `${HEAD}"choices":[],"usage":${usage}${tail}`;

type Parsed = {
  id: string;
  created: number;
  model: string;
  choices: { delta: { content?: string }; finish_reason: string | null }[];
  usage?: Record<string, unknown> | null;
};

/** What the meter reads from a text chunk once parsed. */
function parsedText(data: string) {
  const json = JSON.parse(data) as Parsed;
  const choice = json.choices[0]!;
  return {
    id: json.id,
    created: json.created,
    model: json.model,
    content: choice.delta.content ?? '',
    finishReason: choice.finish_reason,
  };
}

describe('text chunks read without JSON.parse', () => {
  it('give the fields JSON.parse gives, escapes and all', () => {
    const samples = [
      chunk('{"role":"assistant","content":"","refusal":null}'),
      chunk('{"role":"assistant","content":""}', '}'),
      chunk('{"content":"Most of the increase comes from"}'),
      chunk('{"content":""}'),
      chunk('{"content":"line\\nnext \\"quoted\\" \\\\ back\\/slash \\t\\u00e9\\ud83d\\ude00"}'),
      chunk('{"content":"raw UTF-8: é 😀 中文"}'),
      chunk('{"content":"x"}', '}'),
      chunk('{"content":"x"}', ',"usage":null,"obfuscation":"aBc1"}'),
      // As OpenAI sends it when the client did not ask for usage.
      chunk('{"content":" popular"}', ',"obfuscation":"YhS7A"}'),
      chunk('{}', ',"usage":null}', '"stop"'),
      chunk('{}', '}', '"length"'),
      chunk('{"content":"last"}', '}', '"content_filter"'),
      chunk('{"content":"x"}').replace('"model":"gpt-4o-2024-08-06"', '"model":""'),
    ];
    for (const data of samples) {
      expect(readTextChunk(data)).toEqual(parsedText(data));
    }
    expect(readTextChunk(samples[4]!)?.content).toBe(
      'line\nnext "quoted" \\ back/slash \té\u{1F600}',
    );
    expect(readTextChunk(samples[9]!)?.finishReason).toBe('stop');
  });

  it('leave every other shape to the parser', () => {
    const others = [
      chunk('{"role":"assistant"}'),
      chunk('{"content":"x","refusal":"no"}'),
      chunk('{"refusal":"I cannot"}'),
      chunk('{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}'),
      chunk('{"content":"x"}', ',"usage":{"prompt_tokens":1}}'),
      chunk('{"content":"x"}').replace('"index":0', '"index":1'),
      chunk('{"content":"x"}', '}', '"Stop Now"'),
      chunk('{"content":"tab\there"}'),
      chunk('{"content":"bad escape \\x"}'),
      chunk('{"content":"x"}').replace('"model":"gpt-4o-2024-08-06"', '"model":null'),
      chunk('{"content":"x"}').replace('"created":1741569952', '"created":99999999999999999999'),
      // Not JSON (a leading zero), so not read here either.
      chunk('{"content":"x"}').replace('"created":1741569952', '"created":01741569952'),
      // Too long for the pattern (its backtracking would overflow V8's regexp stack at ~8M).
      chunk(`{"content":"${'x'.repeat(9_000_000)}"}`),
      chunk('{"content":"x"}') + ' ',
      '{"object":"chat.completion.chunk","id":"c","created":1,"model":"m","choices":[]}',
      '[DONE]',
    ];
    for (const data of others) expect(readTextChunk(data)).toBeNull();
  });
});

describe('usage chunks read with a parse of the usage alone', () => {
  const usage =
    '{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,' +
    '"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},' +
    '"completion_tokens_details":{"reasoning_tokens":64,"audio_tokens":0,' +
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}';

  it('give the usage object JSON.parse gives', () => {
    for (const data of [
      usageChunk(usage),
      usageChunk(usage, ',"obfuscation":"a}b"}'),
      usageChunk('{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}'),
    ]) {
      const json = JSON.parse(data) as Parsed;
      expect(readUsageChunk(data)).toEqual({
        id: json.id,
        created: json.created,
        model: json.model,
        usage: json.usage,
      });
    }
  });

  it('leave every other shape to the parser', () => {
    for (const data of [
      usageChunk('null'),
      usageChunk('[1]'),
      usageChunk(`${usage},"extra":{}`),
      usageChunk(usage).replace('"choices":[]', '"choices":[{"index":0}]'),
      usageChunk(usage).replace('"created":1741569952', '"created":01741569952'),
      `${usageChunk(usage)} `,
      chunk('{"content":"x"}'),
    ]) {
      expect(readUsageChunk(data)).toBeNull();
    }
  });
});
