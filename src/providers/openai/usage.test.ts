import { describe, expect, it } from 'vitest';
import { emptyUsage } from '../types.js';
import { openaiUsage } from './usage.js';

describe('openai usage: parts are inside their totals', () => {
  it('reads chat completions cached tokens as part of prompt tokens (case 1 a)', () => {
    const usage = openaiUsage({
      prompt_tokens: 12000,
      completion_tokens: 800,
      total_tokens: 12800,
      prompt_tokens_details: { cached_tokens: 10240 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 12000,
      cachedInputTokens: 10240,
      outputTokens: 800,
    });
  });

  it('reads the responses api the same way (case 1 b)', () => {
    const usage = openaiUsage({
      input_tokens: 12000,
      input_tokens_details: { cached_tokens: 10240 },
      output_tokens: 800,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12800,
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 12000,
      cachedInputTokens: 10240,
      outputTokens: 800,
    });
  });

  it('keeps reasoning tokens inside completion tokens (case 3)', () => {
    const usage = openaiUsage({
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

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 40,
      outputTokens: 1000,
      reasoningTokens: 832,
    });
  });

  it('reads audio slices with or without text_tokens (case 8 a and a prime)', () => {
    const withText = openaiUsage({
      prompt_tokens: 1000,
      completion_tokens: 700,
      total_tokens: 1700,
      prompt_tokens_details: { text_tokens: 200, audio_tokens: 800, cached_tokens: 0 },
      completion_tokens_details: { text_tokens: 150, audio_tokens: 550, reasoning_tokens: 0 },
    });
    const withoutText = openaiUsage({
      prompt_tokens: 1000,
      completion_tokens: 700,
      total_tokens: 1700,
      prompt_tokens_details: { audio_tokens: 800 },
      completion_tokens_details: { audio_tokens: 550 },
    });

    const expected = {
      ...emptyUsage(),
      inputTokens: 1000,
      outputTokens: 700,
      inputAudioTokens: 800,
      outputAudioTokens: 550,
    };
    expect(withText).toEqual(expected);
    expect(withoutText).toEqual(expected);
  });

  it('reads image slices of the responses api (case 8 b)', () => {
    const usage = openaiUsage({
      input_tokens: 340,
      input_tokens_details: { text_tokens: 40, image_tokens: 300 },
      output_tokens: 4200,
      output_tokens_details: { text_tokens: 200, image_tokens: 4000 },
      total_tokens: 4540,
    });

    expect(usage).toEqual({
      ...emptyUsage(),
      inputTokens: 340,
      outputTokens: 4200,
      inputImageTokens: 300,
      outputImageTokens: 4000,
    });
  });

  it('reads embeddings usage as input only', () => {
    expect(openaiUsage({ prompt_tokens: 8, total_tokens: 8 })).toEqual({
      ...emptyUsage(),
      inputTokens: 8,
    });
  });

  it('ignores a provider cost field (case 13)', () => {
    const usage = openaiUsage({
      prompt_tokens: 12,
      completion_tokens: 4000,
      total_tokens: 4012,
      cost: 0,
    });

    expect(usage).toEqual({ ...emptyUsage(), inputTokens: 12, outputTokens: 4000 });
  });

  it('reads compatible servers cache fields', () => {
    const deepseek = openaiUsage({
      prompt_tokens: 100,
      completion_tokens: 5,
      prompt_cache_hit_tokens: 64,
      prompt_cache_miss_tokens: 36,
    });
    const openrouter = openaiUsage({
      prompt_tokens: 100,
      completion_tokens: 5,
      prompt_tokens_details: { cached_tokens: 10, cache_write_tokens: 50 },
    });

    expect(deepseek?.cachedInputTokens).toBe(64);
    expect(openrouter).toMatchObject({ cachedInputTokens: 10, cacheWriteTokens: 50 });
  });
});

describe('openai usage: garbage in', () => {
  it('returns null for values that are not usage objects', () => {
    for (const value of [null, undefined, 'usage', 42, [], {}, { total_tokens: 5 }]) {
      expect(openaiUsage(value)).toBeNull();
    }
  });

  it('reads strings, negatives, fractions and nan as zero', () => {
    const usage = openaiUsage({
      prompt_tokens: '12',
      completion_tokens: 7,
      prompt_tokens_details: { cached_tokens: -3 },
      completion_tokens_details: { reasoning_tokens: 1.5, audio_tokens: Number.NaN },
    });

    expect(usage).toEqual({ ...emptyUsage(), outputTokens: 7 });
  });

  it('clamps parts that exceed their totals', () => {
    const usage = openaiUsage({
      prompt_tokens: 10,
      completion_tokens: 4,
      prompt_tokens_details: { cached_tokens: 25 },
      completion_tokens_details: { reasoning_tokens: 9 },
    });

    expect(usage).toMatchObject({ inputTokens: 10, cachedInputTokens: 10, reasoningTokens: 4 });
  });
});
