import { describe, expect, it } from 'vitest';
import { contentOfChunk } from './content-chunk.js';

const HEAD =
  '{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk",' +
  '"created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default",' +
  '"system_fingerprint":"fp_f9f4fb6dbf",';
const chunk = (delta: string, tail = ',"usage":null}'): string =>
  `${HEAD}"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]${tail}`;

/** What the meter reads from the parsed chunk, when the chunk has the simple shape. */
function parsedContent(data: string): unknown {
  return (JSON.parse(data) as { choices: { delta: { content?: unknown } }[] }).choices[0]?.delta
    .content;
}

describe('content chunks read without JSON.parse', () => {
  it('gives the content as JSON.parse does, escapes and all', () => {
    const samples = [
      chunk('{"content":"Most of the increase comes from"}'),
      chunk('{"content":""}'),
      chunk('{"content":"line\\nnext \\"quoted\\" \\\\ back\\/slash \\t\\u00e9\\ud83d\\ude00"}'),
      chunk('{"content":"raw UTF-8: é 😀 中文"}'),
      chunk('{"content":"x"}', '}'),
      chunk('{"content":"x"}', ',"usage":null,"obfuscation":"aBc1"}'),
      // As OpenAI sends it when the client did not ask for usage.
      chunk('{"content":" popular"}', ',"obfuscation":"YhS7A"}'),
    ];
    for (const data of samples) {
      expect(contentOfChunk(data)).toBe(parsedContent(data));
    }
    expect(contentOfChunk(samples[2] as string)).toBe(
      'line\nnext "quoted" \\ back/slash \té\u{1F600}',
    );
  });

  it('leaves every other shape to the parser', () => {
    const others = [
      chunk('{"role":"assistant","content":""}'),
      chunk('{"content":"x","refusal":null}'),
      chunk('{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}'),
      chunk('{"content":"x"}', ',"usage":{"prompt_tokens":1}}'),
      chunk('{"content":"x"}').replace('"finish_reason":null', '"finish_reason":"stop"'),
      chunk('{"content":"x"}').replace('"index":0', '"index":1'),
      chunk('{"content":"tab\there"}'),
      chunk('{"content":"bad escape \\x"}'),
      chunk('{"content":"x"}').replace('"model":"gpt-4o-2024-08-06"', '"model":null'),
      chunk('{"content":"x"}') + ' ',
      '{"object":"chat.completion.chunk","id":"c","created":1,"model":"m","choices":[]}',
      '[DONE]',
    ];
    for (const data of others) expect(contentOfChunk(data)).toBeNull();
  });
});
