import { describe, expect, it } from 'vitest';
import { picoToDecimal } from '../money/money.js';
import { emptyUsage, type Usage } from '../providers/types.js';
import { computeCost } from './cost.js';
import { createPricer } from './pricer.js';
import { pricingSchema, type PricingInput } from './schema.js';

// Each case's price table is its fixture, given as config overrides on top of the bundled
// catalogue, exactly as an operator would write it.
function pricerFor(models: PricingInput['models']) {
  return createPricer(pricingSchema.parse({ models }));
}

function usage(parts: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...parts };
}

function costOf(model: string, u: Usage, models: PricingInput['models'], provider?: string) {
  const resolution = pricerFor(models).resolve(model, provider);
  return resolution.rates ? picoToDecimal(computeCost(u, resolution.rates)) : null;
}

describe('case 1: openai cached prompt tokens are a subset of the prompt', () => {
  const models = {
    'gpt-4o': { input_per_mtok: 2.5, cached_input_per_mtok: 1.25, output_per_mtok: 10 },
  };

  it('prices a chat completions usage with cached tokens once', () => {
    const u = usage({ inputTokens: 12_000, cachedInputTokens: 10_240, outputTokens: 800 });

    expect(costOf('gpt-4o', u, models, 'openai')).toBe('0.0252');
  });

  it('prices the same call on the responses api identically', () => {
    const u = usage({
      inputTokens: 12_000,
      cachedInputTokens: 10_240,
      outputTokens: 800,
      reasoningTokens: 0,
    });

    expect(costOf('gpt-4o', u, models, 'openai')).toBe('0.0252');
  });
});

describe('case 2: anthropic cache writes and reads are parts of the total input', () => {
  const models = {
    'claude-3-7-sonnet-20250219': {
      input_per_mtok: 3,
      cache_write_per_mtok: 3.75,
      cache_write_1h_per_mtok: 6,
      cached_input_per_mtok: 0.3,
      output_per_mtok: 15,
    },
  };
  const model = 'claude-3-7-sonnet-20250219';

  it('charges 5-minute cache writes once at the write rate', () => {
    const u = usage({ inputTokens: 20_012, cacheWriteTokens: 20_000, outputTokens: 400 });

    expect(costOf(model, u, models, 'anthropic')).toBe('0.081036');
  });

  it('charges cache reads at the read rate', () => {
    const u = usage({ inputTokens: 20_012, cachedInputTokens: 20_000, outputTokens: 400 });

    expect(costOf(model, u, models, 'anthropic')).toBe('0.012036');
  });

  it('charges 1-hour cache writes at the 1-hour rate', () => {
    const u = usage({
      inputTokens: 20_012,
      cacheWriteTokens: 20_000,
      cacheWrite1hTokens: 20_000,
      outputTokens: 400,
    });

    expect(costOf(model, u, models, 'anthropic')).toBe('0.126036');
  });
});

describe('case 3: reasoning tokens are inside the completion', () => {
  it('prices the whole completion once at the output rate', () => {
    const models = { 'gpt-5-nano': { input_per_mtok: 0.05, output_per_mtok: 0.4 } };
    const u = usage({ inputTokens: 40, outputTokens: 1000, reasoningTokens: 832 });

    expect(costOf('gpt-5-nano', u, models, 'openai')).toBe('0.000402');
  });
});

describe('case 5: azure deployments are priced by their configured base model', () => {
  const models = {
    'gpt-4-1106-preview': { input_per_mtok: 10, output_per_mtok: 30 },
    'gpt-4': { input_per_mtok: 30, output_per_mtok: 60 },
  };
  const u = usage({ inputTokens: 5000, outputTokens: 1000 });

  it('prices the mapped base model, not the model field azure returns', () => {
    const resolution = pricerFor(models).resolve('gpt-4-1106-preview', 'azure');

    expect(resolution.pricedAs).toBe('gpt-4-1106-preview');
    expect(resolution.source).toBe('config');
    expect(costOf('gpt-4-1106-preview', u, models, 'azure')).toBe('0.08');
  });

  it('leaves an unmapped deployment unpriced and flagged, never $0', () => {
    const resolution = pricerFor(models).resolve('team-x-bot-v2', 'azure');

    expect(resolution.rates).toBeNull();
    expect(resolution.flags).toEqual(['unpriced_model']);
    expect(resolution.reject).toBe(false);
  });
});

describe('case 6: fine-tunes are priced from the fine-tuned rates of their base', () => {
  const models = {
    'gpt-4o-mini-2024-07-18': {
      input_per_mtok: 0.15,
      cached_input_per_mtok: 0.075,
      output_per_mtok: 0.6,
    },
    'ft:gpt-4o-mini-2024-07-18': {
      input_per_mtok: 0.3,
      cached_input_per_mtok: 0.15,
      output_per_mtok: 1.2,
    },
    'ft:gpt-4o-2024-08-06': {
      input_per_mtok: 3.75,
      cached_input_per_mtok: 1.875,
      output_per_mtok: 15,
    },
  };

  it('parses a name with an empty suffix and charges the fine-tuned rates', () => {
    const raw = 'ft:gpt-4o-mini-2024-07-18:acme-corp::9xYzAb12';
    const resolution = pricerFor(models).resolve(raw, 'openai');
    const u = usage({ inputTokens: 20_000, cachedInputTokens: 8000, outputTokens: 1500 });

    expect(resolution.fineTune).toEqual({
      base: 'gpt-4o-mini-2024-07-18',
      org: 'acme-corp',
      suffix: '',
      id: '9xYzAb12',
    });
    expect(resolution.match).toBe('fine_tune');
    expect(resolution.rawModel).toBe(raw);
    expect(costOf(raw, u, models, 'openai')).toBe('0.0066');
  });

  it('parses a name with a suffix and charges the fine-tuned rates', () => {
    const raw = 'ft:gpt-4o-2024-08-06:acme-corp:support-bot:AbC123';
    const resolution = pricerFor(models).resolve(raw, 'openai');
    const u = usage({ inputTokens: 1000, outputTokens: 100 });

    expect(resolution.fineTune).toEqual({
      base: 'gpt-4o-2024-08-06',
      org: 'acme-corp',
      suffix: 'support-bot',
      id: 'AbC123',
    });
    expect(resolution.pricedAs).toBe('ft:gpt-4o-2024-08-06');
    expect(resolution.rawModel).toBe(raw);
    expect(costOf(raw, u, models, 'openai')).toBe('0.00525');
  });
});

describe('case 7: provider-prefixed and dated model names', () => {
  const models = {
    'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 },
    'gpt-4o-2024-05-13': { input_per_mtok: 5, output_per_mtok: 15 },
    'claude-3-5-sonnet-20241022': { input_per_mtok: 3, output_per_mtok: 15 },
  };
  const u = usage({ inputTokens: 1000, outputTokens: 100 });
  const rows: [string, string | null, string, string[], string | null][] = [
    ['openai/gpt-4o', 'gpt-4o', 'prefix_stripped', [], '0.0035'],
    ['openai/gpt-4o-2024-05-13', 'gpt-4o-2024-05-13', 'prefix_stripped', [], '0.0065'],
    ['gpt-4o-2024-11-20', 'gpt-4o', 'alias', ['price_alias'], '0.0035'],
    [
      'anthropic/claude-3-5-sonnet-20241022',
      'claude-3-5-sonnet-20241022',
      'prefix_stripped',
      [],
      '0.0045',
    ],
    ['openai/gpt-9-unknown', null, 'none', ['unpriced_model'], null],
  ];

  for (const [raw, pricedAs, match, flags, cost] of rows) {
    it(`prices ${raw} as ${pricedAs ?? 'nothing'} (${match})`, () => {
      const resolution = pricerFor(models).resolve(raw);

      expect(resolution.rawModel).toBe(raw);
      expect(resolution.pricedAs).toBe(pricedAs);
      expect(resolution.match).toBe(match);
      expect(resolution.flags).toEqual(flags);
      expect(costOf(raw, u, models)).toBe(cost);
    });
  }
});

describe('case 8: audio and image tokens have their own rates', () => {
  const audio = {
    'gpt-audio': {
      input_per_mtok: 2.5,
      output_per_mtok: 10,
      input_audio_per_mtok: 40,
      output_audio_per_mtok: 80,
    },
  };

  it('prices audio slices at audio rates and the rest at text rates', () => {
    const u = usage({
      inputTokens: 1000,
      inputAudioTokens: 800,
      outputTokens: 700,
      outputAudioTokens: 550,
    });

    expect(costOf('azure/gpt-audio', u, audio, 'azure')).toBe('0.078');
  });

  it('works out the text share as total minus audio when no text count is given', () => {
    // A′ carries no text_tokens; the normalized usage holds only totals and audio slices,
    // so the text share is always derived, never read.
    const u = usage({
      inputTokens: 1000,
      inputAudioTokens: 800,
      outputTokens: 700,
      outputAudioTokens: 550,
    });

    expect(costOf('azure/gpt-audio', u, audio, 'azure')).toBe('0.078');
  });

  it('prices image slices at image rates and text output at the text rate', () => {
    const models = {
      'image-model': {
        input_per_mtok: 5,
        input_image_per_mtok: 8,
        output_per_mtok: 10,
        output_image_per_mtok: 32,
      },
    };
    const u = usage({
      inputTokens: 340,
      inputImageTokens: 300,
      outputTokens: 4200,
      outputImageTokens: 4000,
    });

    expect(costOf('image-model', u, models)).toBe('0.1326');
  });
});

describe('case 13: a streamed request is priced from the table, not a provider cost of 0', () => {
  it('prices claude-sonnet-4-5 through an openai-compatible upstream', () => {
    const models = { 'claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15 } };
    const u = usage({ inputTokens: 12, outputTokens: 4000 });

    expect(costOf('claude-sonnet-4-5', u, models, 'openai')).toBe('0.060036');
  });
});
