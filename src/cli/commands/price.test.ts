import { describe, expect, it } from 'vitest';
import { emptyUsage, type Usage } from '../../providers/types.js';
import { computeCost } from '../../pricing/cost.js';
import { createPricer } from '../../pricing/pricer.js';
import { pricingSchema } from '../../pricing/schema.js';
import { formatPrice } from './price.js';

const usage: Usage = {
  ...emptyUsage(),
  inputTokens: 12_000,
  cachedInputTokens: 10_240,
  outputTokens: 800,
};

describe('spendgate price: output', () => {
  it('prints the resolved catalogue entry, its rates and the cost as a plain decimal', () => {
    const r = createPricer(undefined).resolve('openai/gpt-4o', 'openai');
    const cost = r.rates ? computeCost(usage, r.rates) : null;

    expect(formatPrice(r, usage, cost)).toBe(
      [
        'model           openai/gpt-4o',
        'priced as       gpt-4o',
        'matched         provider prefix stripped',
        'source          catalogue (genai-prices 0.1.8 (2026-09-23), openai)',
        'rates ($/M)     input 2.5, output 10, cached input 1.25',
        'usage           input 12000 (cached 10240, cache write 0), output 800',
        'cost            0.0252 USD',
      ].join('\n'),
    );
  });

  it('prints tiers, the fine-tune parts and flags of a config price', () => {
    const config = pricingSchema.parse({
      models: {
        'ft:gpt-4o-mini': {
          input_per_mtok: 0.3,
          output_per_mtok: 1.2,
          tiers: [{ above_input_tokens: 100_000, input_per_mtok: 0.6 }],
        },
      },
    });
    const r = createPricer(config, { catalogue: false }).resolve(
      'ft:gpt-4o-mini-2024-07-18:acme::abc',
    );
    const cost = r.rates ? computeCost(usage, r.rates) : null;

    expect(formatPrice(r, usage, cost)).toBe(
      [
        'model           ft:gpt-4o-mini-2024-07-18:acme::abc',
        'priced as       ft:gpt-4o-mini',
        'matched         fine-tuned rates of the base model',
        'source          config (pricing.models)',
        'fine-tune       base gpt-4o-mini-2024-07-18, org acme, suffix (none), id abc',
        'flags           price_alias',
        'rates ($/M)     input 0.3, output 1.2',
        '  > 100000 in   input 0.6, output 1.2',
        'usage           input 12000 (cached 10240, cache write 0), output 800',
        'cost            0.00456 USD',
      ].join('\n'),
    );
  });

  it('says the cost is unknown for an unpriced model', () => {
    const r = createPricer(undefined).resolve('team-x-bot-v2');

    const text = formatPrice(r, usage, null);

    expect(text).toContain('priced as       (none)\n');
    expect(text).toContain('flags           unpriced_model\n');
    expect(text.endsWith('\ncost            unknown (unpriced model)')).toBe(true);
  });

  it('says an unknown model would be rejected', () => {
    const config = pricingSchema.parse({ unknown_model: 'reject' });
    const r = createPricer(config).resolve('team-x-bot-v2');

    expect(formatPrice(r, usage, null)).toContain('\ncost            rejected (unknown_model)');
  });
});
