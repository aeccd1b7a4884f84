import { describe, expect, it } from 'vitest';
import { countPromptTokens, countTextTokens } from './count.js';
import { DEFAULT_ESTIMATE_FACTOR, estimateFactor } from './estimate.js';

const FOX = 'The quick brown fox jumps over the lazy dog.';

describe('estimate: models without an exact tokenizer', () => {
  it('picks the factor of the model family', () => {
    expect(estimateFactor('claude-sonnet-4-5')).toBe(1.15);
    expect(estimateFactor('anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe(1.15);
    expect(estimateFactor('meta-llama/Llama-3.1-70B-Instruct')).toBe(1.1);
    expect(estimateFactor('mistral-large-latest')).toBe(1.1);
    expect(estimateFactor('mistralai/Mixtral-8x7B-Instruct-v0.1')).toBe(1.1);
    expect(estimateFactor('gemini-2.5-pro')).toBe(DEFAULT_ESTIMATE_FACTOR);
    expect(estimateFactor('something-new')).toBe(1);
  });

  it('scales the o200k count and rounds up', () => {
    // The fox sentence is 10 o200k tokens.
    expect(countTextTokens('claude-sonnet-4-5', FOX)).toBe(12);
    expect(countTextTokens('llama-3.1-8b', FOX)).toBe(11);
    expect(countTextTokens('gemini-2.5-flash', FOX)).toBe(10);
  });

  it('reports a claude prompt as an estimate above the o200k count', () => {
    const body = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: FOX }] };

    // o200k: priming 3 + user 3+1+10 = 17; × 1.15 = 19.55
    expect(countPromptTokens('messages', body, 'claude-sonnet-4-5')).toEqual({
      tokens: 20,
      method: 'estimate',
    });
  });

  it('estimates a chat prompt for an OpenAI-compatible mistral model', () => {
    const body = { messages: [{ role: 'user', content: 'Say OK.' }] };

    // o200k: 10; × 1.1 = 11
    expect(countPromptTokens('chat', body, 'mistral-small-latest')).toEqual({
      tokens: 11,
      method: 'estimate',
    });
  });
});

describe('estimate: garbage bodies', () => {
  const cyclic: Record<string, unknown> = { type: 'function' };
  cyclic.self = cyclic;

  it.each([
    ['null', null],
    ['a string', 'messages'],
    ['a number', 42],
    ['an array', [{ role: 'user', content: 'hi' }]],
  ])('gives 1 for %s', (_name, body) => {
    expect(countPromptTokens('chat', body, 'gpt-4o')).toEqual({ tokens: 1, method: 'tokenizer' });
  });

  it.each([
    ['messages of the wrong type', { messages: 'nope' }],
    ['messages that are not objects', { messages: [null, 5, 'x', [1]] }],
    ['fields of the wrong type', { messages: [{ role: 7, content: { x: 1 }, name: 3 }] }],
    ['a cyclic tool definition', { messages: [], tools: [cyclic] }],
    ['tool calls of the wrong type', { messages: [{ role: 'assistant', tool_calls: 'x' }] }],
  ])('gives a small count without throwing for %s', (_name, body) => {
    const { tokens } = countPromptTokens('chat', body, 'gpt-4o');

    expect(tokens).toBeGreaterThanOrEqual(1);
    expect(tokens).toBeLessThan(10);
  });

  it.each(['chat', 'completions', 'responses', 'embeddings', 'messages'] as const)(
    'never throws for a %s body of the wrong shape',
    (op) => {
      const body = { input: { a: 1 }, prompt: 7, messages: [{ content: [null, { type: 9 }] }] };

      expect(countPromptTokens(op, body, 'claude-sonnet-4-5').tokens).toBeGreaterThanOrEqual(1);
    },
  );

  it('does not recurse without bound into nested tool results', () => {
    let content: unknown = 'deep';
    for (let i = 0; i < 10_000; i += 1) content = [{ type: 'tool_result', content }];
    const body = { messages: [{ role: 'user', content }] };

    expect(countPromptTokens('messages', body, 'gpt-4o').tokens).toBeGreaterThanOrEqual(1);
  });
});

describe('estimate: reservations of the budget cases', () => {
  it('counts the case 12 gpt-4o prompt at 10 tokens', () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say OK.' }] };

    expect(countPromptTokens('chat', body, 'gpt-4o')).toEqual({ tokens: 10, method: 'tokenizer' });
  });

  it('estimates the case 13 claude prompt through an openai route at 12 tokens', () => {
    const body = {
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'Say OK.' }],
      max_tokens: 4000,
      stream: true,
    };

    // o200k 10 × 1.15 = 11.5, rounded up; the upstream in the case reports 12.
    expect(countPromptTokens('chat', body, 'claude-sonnet-4-5')).toEqual({
      tokens: 12,
      method: 'estimate',
    });
  });
});
