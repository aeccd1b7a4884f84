import { encodeChat } from 'gpt-tokenizer/model/gpt-4o';
import { describe, expect, it } from 'vitest';
import { countPromptTokens, countTextTokens } from './count.js';

const WEATHER_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

function chat(messages: unknown[], extra: Record<string, unknown> = {}): unknown {
  return { model: 'gpt-4o', messages, ...extra };
}

describe('counting: text', () => {
  it('counts known strings exactly in both encodings', () => {
    expect(countTextTokens('gpt-4o', 'hello world')).toBe(2);
    expect(countTextTokens('gpt-4', 'hello world')).toBe(2);
    expect(countTextTokens('gpt-4o', 'Sunny, 22 C')).toBe(5);
    expect(countTextTokens('gpt-4', 'Sunny, 22 C')).toBe(6);
  });

  it('counts end-of-text markers in user text as text', () => {
    expect(countTextTokens('gpt-4o', '<|endoftext|>')).toBe(7);
  });

  it('gives a remembered text the count it had, also after the memory filled and was cleared', () => {
    // 'user' and 'hello world' are counted, then pushed out by 70,000 other texts (the memory
    // keeps 65,536), then counted again: the same figures each time, in each encoding.
    const first = [countTextTokens('gpt-4o', 'user'), countTextTokens('gpt-4', 'hello world')];
    for (let i = 0; i < 70_000; i += 1) countTextTokens('gpt-4o', `ticket ${i}`);
    expect(countTextTokens('gpt-4o', 'ticket 69999')).toBe(4);
    expect([countTextTokens('gpt-4o', 'user'), countTextTokens('gpt-4', 'hello world')]).toEqual(
      first,
    );
    expect(first).toEqual([1, 2]);
  });

  it('counts an empty text as 0 and any other text as at least 1', () => {
    expect(countTextTokens('gpt-4o', '')).toBe(0);
    expect(countTextTokens('claude-sonnet-4-5', 'a')).toBe(2);
  });
});

describe('counting: chat completions', () => {
  it('adds 3 per message, the role, and 3 priming the reply', () => {
    const body = chat([{ role: 'user', content: 'Say OK.' }]);

    expect(countPromptTokens('chat', body, 'gpt-4o')).toEqual({ tokens: 10, method: 'tokenizer' });
  });

  it('agrees with the chat encoding of gpt-tokenizer on a longer conversation', () => {
    const messages = [
      { role: 'system', content: 'You are terse. '.repeat(40) },
      { role: 'user', content: 'The answer is 42. What is the question?' },
      { role: 'assistant', content: 'What is six times seven, in base ten?' },
      { role: 'user', content: 'Continue.' },
    ];

    const expected = encodeChat(messages as Parameters<typeof encodeChat>[0]).length;

    expect(countPromptTokens('chat', chat(messages), 'gpt-4o').tokens).toBe(expected);
  });

  it('counts the system and user messages of the tiktoken cookbook format in cl100k', () => {
    const body = chat([
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hello, how are you?' },
    ]);

    expect(countPromptTokens('chat', body, 'gpt-4')).toEqual({ tokens: 23, method: 'tokenizer' });
  });

  it('adds 1 and the name for a named message', () => {
    const body = chat([{ role: 'user', name: 'alice', content: 'Say OK.' }]);

    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(12);
  });

  it('counts a user text with an end-of-text marker', () => {
    const body = chat([{ role: 'user', content: '<|endoftext|>' }]);

    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(14);
  });

  it('counts text parts and a fixed estimate per image by detail', () => {
    const image = (detail?: string) => ({
      type: 'image_url',
      image_url: { url: 'https://example.com/cat.png', ...(detail ? { detail } : {}) },
    });
    const body = chat([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this image?' },
          image('low'),
          image('high'),
          image(),
        ],
      },
    ]);

    // 3 + user 1 + text 6 + 85 + 765 + 765 + priming 3
    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(1_628);
  });

  it('estimates input audio from its size and format', () => {
    // 64,000 base64 characters are 48,000 bytes: one second of 24 kHz 16-bit wav.
    const part = { type: 'input_audio', input_audio: { data: 'A'.repeat(64_000), format: 'wav' } };

    const body = chat([{ role: 'user', content: [part] }]);

    // 3 + user 1 + one second of audio 10 + priming 3
    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(17);
  });

  it('counts tool definitions as their JSON', () => {
    const body = chat([{ role: 'user', content: 'Say OK.' }], { tools: WEATHER_TOOLS });

    // 10 for the message and priming, 43 for the JSON of the tools.
    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(53);
  });

  it('counts legacy functions as their JSON', () => {
    const fn = WEATHER_TOOLS[0]?.function;
    const body = chat([{ role: 'user', content: 'Say OK.' }], { functions: [fn] });

    // 10 for the message and priming, 37 for the JSON of the functions.
    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(47);
  });

  it('counts tool calls of the assistant and the tool reply', () => {
    const body = chat([
      { role: 'user', content: 'Paris' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 22 C' },
    ]);

    // user 3+1+1, assistant 3+1 + call 3+2+5, tool 3+1+5, priming 3
    expect(countPromptTokens('chat', body, 'gpt-4o').tokens).toBe(31);
  });
});

describe('counting: responses', () => {
  it('counts instructions and a string input', () => {
    const body = { model: 'gpt-4o', instructions: 'Be brief.', input: 'Say OK.' };

    // priming 3 + instructions 3+3 + input 3+3
    expect(countPromptTokens('responses', body, 'gpt-4o')).toEqual({
      tokens: 15,
      method: 'tokenizer',
    });
  });

  it('counts message items with input_text and input_image parts', () => {
    const body = {
      model: 'gpt-4.1',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is in this image?' },
            { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' },
          ],
        },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Paris' }] },
      ],
    };

    // priming 3 + user 3+1+6+85 + assistant 3+1+1
    expect(countPromptTokens('responses', body, 'gpt-4.1').tokens).toBe(103);
  });

  it('counts function calls, their outputs and tools', () => {
    const tools = [{ type: 'function', name: 'get_weather', parameters: {} }];
    const body = {
      input: [
        {
          type: 'function_call',
          call_id: 'c1',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
        },
        { type: 'function_call_output', call_id: 'c1', output: 'Sunny, 22 C' },
      ],
      tools,
    };

    const toolsJson = countTextTokens('gpt-4o', JSON.stringify(tools));

    // priming 3 + call 3+2+5 + output 3+5 + tools
    expect(countPromptTokens('responses', body, 'gpt-4o').tokens).toBe(21 + toolsJson);
  });
});

describe('counting: embeddings and legacy completions', () => {
  it('counts an embeddings input string without chat overhead', () => {
    const body = { input: 'hello world' };

    expect(countPromptTokens('embeddings', body, 'text-embedding-3-small')).toEqual({
      tokens: 2,
      method: 'tokenizer',
    });
  });

  it('counts an array of strings and token arrays', () => {
    const embed = (input: unknown) =>
      countPromptTokens('embeddings', { input }, 'text-embedding-3-small').tokens;

    expect(embed(['hello world', 'Say OK.'])).toBe(5);
    expect(embed([1, 2, 3])).toBe(3);
    expect(
      embed([
        [1, 2, 3],
        [4, 5],
      ]),
    ).toBe(5);
  });

  it('counts a completions prompt as a string, an array and with a suffix', () => {
    const complete = (body: unknown) =>
      countPromptTokens('completions', body, 'gpt-3.5-turbo-instruct').tokens;

    expect(complete({ prompt: 'Say OK.' })).toBe(3);
    expect(complete({ prompt: ['Say OK.', 'hello world'] })).toBe(5);
    expect(complete({ prompt: 'def f(x):', suffix: '    return x' })).toBe(7);
  });
});
