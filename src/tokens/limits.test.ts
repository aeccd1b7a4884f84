import { describe, expect, it } from 'vitest';
import { maxOutputTokens } from './limits.js';

describe('limits: the largest completion a request may produce', () => {
  it('takes max_tokens of a chat request', () => {
    expect(maxOutputTokens('chat', { max_tokens: 8_000 })).toBe(8_000);
  });

  it('prefers max_completion_tokens over max_tokens in chat', () => {
    expect(maxOutputTokens('chat', { max_completion_tokens: 500 })).toBe(500);
    expect(maxOutputTokens('chat', { max_completion_tokens: 500, max_tokens: 9_000 })).toBe(500);
  });

  it('multiplies a chat limit by n', () => {
    expect(maxOutputTokens('chat', { max_tokens: 1_000, n: 3 })).toBe(3_000);
    expect(maxOutputTokens('chat', { max_completion_tokens: 1_000, n: 1 })).toBe(1_000);
  });

  it('multiplies a completions limit by the larger of n and best_of', () => {
    expect(maxOutputTokens('completions', { max_tokens: 100 })).toBe(100);
    expect(maxOutputTokens('completions', { max_tokens: 100, n: 2 })).toBe(200);
    expect(maxOutputTokens('completions', { max_tokens: 100, n: 2, best_of: 5 })).toBe(500);
  });

  it('takes max_output_tokens of a responses request', () => {
    expect(maxOutputTokens('responses', { max_output_tokens: 2_048 })).toBe(2_048);
    expect(maxOutputTokens('responses', { max_tokens: 2_048 })).toBeNull();
  });

  it('takes max_tokens of an anthropic messages request', () => {
    expect(maxOutputTokens('messages', { max_tokens: 4_000 })).toBe(4_000);
  });

  it('gives 0 for embeddings, which produce no completion', () => {
    expect(maxOutputTokens('embeddings', { input: 'hello' })).toBe(0);
    expect(maxOutputTokens('embeddings', null)).toBe(0);
  });

  it('gives null when the client set no limit', () => {
    expect(maxOutputTokens('chat', { messages: [] })).toBeNull();
    expect(maxOutputTokens('chat', { n: 4 })).toBeNull();
    expect(maxOutputTokens('completions', {})).toBeNull();
    expect(maxOutputTokens('messages', {})).toBeNull();
  });

  it('treats a limit that is not a whole positive number as unset', () => {
    expect(maxOutputTokens('chat', { max_tokens: '100' })).toBeNull();
    expect(maxOutputTokens('chat', { max_tokens: -1 })).toBeNull();
    // Some OpenAI-compatible servers read 0 as "no limit": the default is reserved for it.
    expect(maxOutputTokens('chat', { max_tokens: 0 })).toBeNull();
    expect(maxOutputTokens('chat', { max_completion_tokens: 0, max_tokens: 64 })).toBeNull();
    expect(maxOutputTokens('responses', { max_output_tokens: 0 })).toBeNull();
    expect(maxOutputTokens('messages', { max_tokens: 0 })).toBeNull();
    expect(maxOutputTokens('chat', { max_tokens: 10.5 })).toBeNull();
    expect(maxOutputTokens('chat', { max_completion_tokens: null, max_tokens: 64 })).toBe(64);
  });

  it('ignores an n that is not a whole number above 1', () => {
    expect(maxOutputTokens('chat', { max_tokens: 100, n: 0 })).toBe(100);
    expect(maxOutputTokens('chat', { max_tokens: 100, n: '3' })).toBe(100);
    expect(maxOutputTokens('chat', { max_tokens: 100, n: 2.5 })).toBe(100);
  });

  it('gives null for a body that is not an object', () => {
    expect(maxOutputTokens('chat', 'max_tokens=5')).toBeNull();
    expect(maxOutputTokens('messages', [{ max_tokens: 5 }])).toBeNull();
  });
});
