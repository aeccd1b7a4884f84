import { describe, expect, it } from 'vitest';
import { pricingSchema } from './schema.js';

describe('pricing schema', () => {
  it('converts rates to exact pico-dollars per million tokens', () => {
    const parsed = pricingSchema.parse({
      models: { 'my-llama-70b': { input_per_mtok: 0.6, output_per_mtok: 0.8 } },
    });

    expect(parsed.models['my-llama-70b']?.input_per_mtok).toBe(600_000_000_000n);
    expect(parsed.models['my-llama-70b']?.output_per_mtok).toBe(800_000_000_000n);
    expect(parsed.models['my-llama-70b']?.tiers).toEqual([]);
  });

  it('takes a tiny float at its written decimal value', () => {
    const parsed = pricingSchema.parse({
      models: { tiny: { input_per_mtok: 1e-7, output_per_mtok: 0.1 } },
    });

    expect(parsed.models.tiny?.input_per_mtok).toBe(100_000n);
    expect(parsed.models.tiny?.output_per_mtok).toBe(100_000_000_000n);
  });

  it('accepts the full example of the spec', () => {
    const parsed = pricingSchema.parse({
      models: {
        'negotiated-sonnet': {
          input_per_mtok: 3,
          output_per_mtok: 15,
          cached_input_per_mtok: 0.3,
          cache_write_per_mtok: 3.75,
          cache_write_1h_per_mtok: 6,
          reasoning_per_mtok: 15,
          default_max_output_tokens: 8192,
          tiers: [
            {
              above_input_tokens: 200_000,
              input_per_mtok: 6,
              output_per_mtok: 22.5,
              cached_input_per_mtok: 0.6,
              cache_write_per_mtok: 7.5,
            },
          ],
        },
      },
      unknown_model: { input_per_mtok: 10, output_per_mtok: 30 },
    });

    expect(parsed.models['negotiated-sonnet']?.tiers[0]?.output_per_mtok).toBe(22_500_000_000_000n);
    expect(parsed.unknown_model).toEqual({
      input_per_mtok: 10_000_000_000_000n,
      output_per_mtok: 30_000_000_000_000n,
    });
  });

  it('accepts reject as the unknown-model policy and defaults models to empty', () => {
    expect(pricingSchema.parse({ unknown_model: 'reject' })).toEqual({
      models: {},
      unknown_model: 'reject',
    });
  });

  it('rejects unknown keys with their path', () => {
    const result = pricingSchema.safeParse({
      models: { m: { input_per_mtok: 1, output_per_mtok: 1, input_mtok: 2 } },
    });

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.code, i.path])).toEqual([
      ['unrecognized_keys', ['models', 'm']],
    ]);
  });

  it('rejects negative and non-numeric rates', () => {
    const negative = pricingSchema.safeParse({
      models: { m: { input_per_mtok: -1, output_per_mtok: 1 } },
    });
    const text = pricingSchema.safeParse({
      models: { m: { input_per_mtok: '1', output_per_mtok: 1 } },
    });

    expect(negative.error?.issues[0]?.path).toEqual(['models', 'm', 'input_per_mtok']);
    expect(text.error?.issues[0]?.path).toEqual(['models', 'm', 'input_per_mtok']);
  });

  it('requires input and output prices on a model', () => {
    const result = pricingSchema.safeParse({ models: { m: { input_per_mtok: 1 } } });

    expect(result.error?.issues.map((i) => i.path)).toEqual([['models', 'm', 'output_per_mtok']]);
  });

  it('rejects an unknown-model string other than reject', () => {
    expect(pricingSchema.safeParse({ unknown_model: 'free' }).success).toBe(false);
  });

  it('rejects duplicate tier bounds', () => {
    const result = pricingSchema.safeParse({
      models: {
        m: {
          input_per_mtok: 1,
          output_per_mtok: 1,
          tiers: [{ above_input_tokens: 10 }, { above_input_tokens: 10 }],
        },
      },
    });

    expect(result.error?.issues.map((i) => i.path)).toEqual([
      ['models', 'm', 'tiers', 1, 'above_input_tokens'],
    ]);
  });
});
