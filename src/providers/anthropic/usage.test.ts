import { describe, expect, it } from 'vitest';
import { emptyUsage } from '../types.js';
import { anthropicUsage } from './usage.js';

describe('anthropic usage: cache counters come on top of input_tokens', () => {
  it('adds 5-minute cache writes to the input total (case 2 a)', () => {
    const usage = anthropicUsage({
      input_tokens: 12,
      cache_creation_input_tokens: 20000,
      cache_read_input_tokens: 0,
      output_tokens: 400,
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 20012,
      cacheWriteTokens: 20000,
      outputTokens: 400,
    });
  });

  it('adds cache reads to the input total (case 2 b)', () => {
    const usage = anthropicUsage({
      input_tokens: 12,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 20000,
      output_tokens: 400,
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 20012,
      cachedInputTokens: 20000,
      outputTokens: 400,
    });
  });

  it('takes the 1-hour part of the writes from cache_creation (case 2 c)', () => {
    const usage = anthropicUsage({
      input_tokens: 12,
      cache_creation_input_tokens: 20000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 20000 },
      output_tokens: 400,
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 20012,
      cacheWriteTokens: 20000,
      cacheWrite1hTokens: 20000,
      outputTokens: 400,
    });
  });

  it('derives the write total from the per-lifetime split when the total is missing', () => {
    const usage = anthropicUsage({
      input_tokens: 3,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 50 },
      output_tokens: 1,
    });

    expect(usage).toMatchObject({
      inputTokens: 153,
      cacheWriteTokens: 150,
      cacheWrite1hTokens: 50,
    });
  });
});

describe('anthropic usage: garbage in', () => {
  it('returns null for values that are not usage objects', () => {
    const values = [null, 'usage', 3, [], {}, { server_tool_use: { web_search_requests: 1 } }];
    for (const value of values) {
      expect(anthropicUsage(value)).toBeNull();
    }
  });

  it('reads strings and negatives as zero and clamps the 1-hour part inside the writes', () => {
    const usage = anthropicUsage({
      input_tokens: '12',
      cache_creation_input_tokens: 10,
      cache_read_input_tokens: -5,
      cache_creation: { ephemeral_1h_input_tokens: 99 },
      output_tokens: 2,
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 10,
      cacheWriteTokens: 10,
      cacheWrite1hTokens: 10,
      outputTokens: 2,
    });
  });
});
