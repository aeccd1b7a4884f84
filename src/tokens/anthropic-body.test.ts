import { describe, expect, it } from 'vitest';
import { ANTHROPIC_TOOL_SYSTEM_TOKENS } from './anthropic-body.js';
import { countPromptTokens } from './count.js';

// An OpenAI-encoded model name, so the expected values are exact o200k counts; the estimate
// for Claude names is tested in estimate.test.ts.
const EXACT = 'gpt-4o';

function messages(body: Record<string, unknown>): number {
  return countPromptTokens('messages', { max_tokens: 100, ...body }, EXACT).tokens;
}

describe('counting: anthropic messages', () => {
  it('counts a string system prompt and string content', () => {
    const body = {
      system: 'You are a pirate.',
      messages: [{ role: 'user', content: 'Arr, say hello.' }],
    };

    // priming 3 + system 5 + user 3+1+5
    expect(messages(body)).toBe(17);
  });

  it('counts a system prompt given as text blocks', () => {
    const body = {
      system: [{ type: 'text', text: 'You are a pirate.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Arr, say hello.' }] }],
    };

    expect(messages(body)).toBe(17);
  });

  it('counts a fixed estimate per image', () => {
    const source = { type: 'base64', media_type: 'image/png', data: 'AA' };
    const image = { type: 'image', source };
    const body = {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Look at this.' }, image] }],
    };

    // priming 3 + user 3+1+4 + image 1,600
    expect(messages(body)).toBe(1_611);
  });

  it('counts tool use, tool results and the tool system prompt', () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'Get the weather for a city',
        input_schema: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    ];
    const body = {
      tools,
      messages: [
        { role: 'user', content: 'Paris' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'tu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'tu_1',
              content: [{ type: 'text', text: 'Sunny, 22 C' }],
            },
          ],
        },
      ],
    };

    // priming 3 + user 3+1+1 + assistant 3+1 + tool use 3+2+5 + result 3+1 + 3+5 + tools
    expect(messages(body)).toBe(34 + ANTHROPIC_TOOL_SYSTEM_TOKENS + 38);
  });

  it('counts a tool result given as a string', () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'Sunny, 22 C' }] }],
    };

    // priming 3 + user 3+1 + result 3+5
    expect(messages(body)).toBe(15);
  });

  it('counts text documents and estimates PDF documents by size', () => {
    const text = {
      type: 'document',
      source: {
        type: 'text',
        media_type: 'text/plain',
        data: 'Quarterly report: revenue rose 12%.',
      },
    };
    const pdf = {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: 'A'.repeat(100_000) },
    };
    const body = {
      messages: [
        { role: 'user', content: [text, pdf, { type: 'text', text: 'Summarize the report.' }] },
      ],
    };

    // priming 3 + user 3+1 + text document 9 + 75,000-byte PDF: 2 pages × 3,000 + 6
    expect(messages(body)).toBe(6_022);
  });

  it('does not add the tool system prompt without tools', () => {
    const body = { tools: [], messages: [{ role: 'user', content: 'Paris' }] };

    expect(messages(body)).toBe(8);
  });
});
