import { describe, expect, it } from 'vitest';
import { picoToDecimal } from '../money/money.js';
import { emptyUsage, type Usage } from '../providers/types.js';
import { computeCost } from './cost.js';
import { createPricer, type Resolution } from './pricer.js';
import { pricingSchema, type PricingInput } from './schema.js';

function pricer(input: PricingInput = {}, catalogue = true) {
  return createPricer(pricingSchema.parse(input), catalogue ? {} : { catalogue: false });
}

function usage(parts: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...parts };
}

const thousandIn = usage({ inputTokens: 1000, outputTokens: 100 });

function cost(r: Resolution, u: Usage = thousandIn): string | null {
  return r.rates ? picoToDecimal(computeCost(u, r.rates)) : null;
}

describe('pricer: real catalogue look-ups', () => {
  const p = createPricer(undefined);
  const rows: [string, string | undefined, string, string][] = [
    ['gpt-4o', 'openai', 'gpt-4o', '0.0035'],
    ['gpt-4o-mini', 'openai', 'gpt-4o-mini', '0.00021'],
    ['claude-3-7-sonnet-20250219', 'anthropic', 'claude-3-7-sonnet-latest', '0.0045'],
    ['claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5', '0.0045'],
    ['mistral-large-latest', 'mistral', 'mistral-large', '0.0026'],
  ];

  for (const [model, provider, pricedAs, expected] of rows) {
    it(`prices ${model} at the catalogue's price`, () => {
      const r = p.resolve(model, provider);

      expect([r.pricedAs, r.source, r.match, r.flags]).toEqual([
        pricedAs,
        'catalogue',
        'exact',
        [],
      ]);
      expect(cost(r)).toBe(expected);
    });
  }

  it('leaves an unknown name unpriced', () => {
    const r = p.resolve('acme-internal-model-7', 'openai');

    expect([r.pricedAs, r.source, r.match, r.rates, r.flags]).toEqual([
      null,
      null,
      'none',
      null,
      ['unpriced_model'],
    ]);
  });

  it('applies the catalogue tier above 200k input tokens to every class', () => {
    const r = p.resolve('claude-sonnet-4-5', 'anthropic');
    const u = usage({
      inputTokens: 250_000,
      cachedInputTokens: 50_000,
      cacheWriteTokens: 100_000,
      outputTokens: 2000,
    });

    // 100,000 × 6 + 50,000 × 0.6 + 100,000 × 7.5 + 2,000 × 22.5, per million.
    expect(cost(r, u)).toBe('1.425');
  });

  it('prices bedrock and vertex ids', () => {
    expect(cost(p.resolve('anthropic.claude-3-5-sonnet-20241022-v2:0', 'bedrock'))).toBe('0.0045');
    expect(cost(p.resolve('claude-3-5-sonnet-v2@20241022', 'vertex'))).toBe('0.0045');
  });

  it('prices a fine-tune from the catalogue fine-tune rates, not the base rates', () => {
    const r = p.resolve('ft:gpt-4o-mini-2024-07-18:acme::abc', 'openai');

    expect([r.pricedAs, r.match, r.source]).toEqual(['ft:gpt-4o-mini', 'fine_tune', 'catalogue']);
    expect(cost(r)).toBe('0.00042');
  });

  it('leaves a fine-tune unpriced when nothing prices fine-tunes of its base', () => {
    const r = p.resolve('ft:gpt-5-2025-08-07:acme::abc', 'openai');

    expect([r.rates, r.flags, r.fineTune?.base]).toEqual([
      null,
      ['unpriced_model'],
      'gpt-5-2025-08-07',
    ]);
  });
});

describe('pricer: config beats catalogue', () => {
  const negotiated = { 'gpt-4o': { input_per_mtok: 2, output_per_mtok: 8 } };

  it('prices a configured name from the config', () => {
    const r = pricer({ models: negotiated }).resolve('gpt-4o', 'openai');

    expect([r.source, r.match, cost(r)]).toEqual(['config', 'exact', '0.0028']);
  });

  it('prices a snapshot the catalogue lists under a configured name from the config', () => {
    const r = pricer({ models: negotiated }).resolve('gpt-4o-2024-08-06', 'openai');

    expect([r.pricedAs, r.source, r.match, r.flags]).toEqual([
      'gpt-4o',
      'config',
      'alias',
      ['price_alias'],
    ]);
    expect(cost(r)).toBe('0.0028');
  });

  it('keeps a separately priced catalogue snapshot over the configured family', () => {
    const r = pricer({ models: negotiated }).resolve('gpt-4o-2024-05-13', 'openai');

    expect([r.pricedAs, r.source, r.match, cost(r)]).toEqual([
      'gpt-4o-2024-05-13',
      'catalogue',
      'exact',
      '0.0065',
    ]);
  });

  it('prices a bedrock id from a config entry for the vendor name', () => {
    const models = { 'claude-3-5-sonnet-20241022': { input_per_mtok: 1, output_per_mtok: 1 } };
    const r = pricer({ models }).resolve('us.anthropic.claude-3-5-sonnet-20241022-v2:0', 'bedrock');

    expect([r.source, r.match, cost(r)]).toEqual(['config', 'prefix_stripped', '0.0011']);
  });

  it('matches config keys without regard to case', () => {
    const r = pricer({ models: { 'My-Llama': { input_per_mtok: 1, output_per_mtok: 1 } } }).resolve(
      'my-llama',
    );

    expect([r.pricedAs, r.match]).toEqual(['My-Llama', 'exact']);
  });

  it('uses the configured output reservation, else 4096', () => {
    const models = {
      'my-llama': { input_per_mtok: 1, output_per_mtok: 1, default_max_output_tokens: 1024 },
    };
    const p = pricer({ models });

    expect(p.resolve('my-llama').defaultMaxOutputTokens).toBe(1024);
    expect(p.resolve('gpt-4o').defaultMaxOutputTokens).toBe(4096);
  });

  it('prices a fine-tune from a config entry for the family of its base, flagged', () => {
    const models = { 'ft:gpt-4o-mini': { input_per_mtok: 0.3, output_per_mtok: 1.2 } };
    const r = pricer({ models }, false).resolve('ft:gpt-4o-mini-2024-07-18:acme::abc');

    expect([r.pricedAs, r.match, r.flags, cost(r)]).toEqual([
      'ft:gpt-4o-mini',
      'fine_tune',
      ['price_alias'],
      '0.00042',
    ]);
  });

  it('never prices a fine-tune at its base model rates', () => {
    const models = { 'gpt-4o-mini-2024-07-18': { input_per_mtok: 0.15, output_per_mtok: 0.6 } };
    const r = pricer({ models }, false).resolve('ft:gpt-4o-mini-2024-07-18:acme::abc');

    expect([r.rates, r.flags]).toEqual([null, ['unpriced_model']]);
  });
});

describe('pricer: unknown models', () => {
  it('charges pricing.unknown_model rates and flags the fallback', () => {
    const p = pricer({ unknown_model: { input_per_mtok: 10, output_per_mtok: 30 } });
    const r = p.resolve('openai/gpt-9-unknown');

    expect([r.pricedAs, r.match, r.source, r.flags, r.reject]).toEqual([
      null,
      'fallback',
      'fallback',
      ['price_fallback'],
      false,
    ]);
    expect(cost(r)).toBe('0.013');
  });

  it('marks an unknown model for rejection when unknown_model is reject', () => {
    const r = pricer({ unknown_model: 'reject' }).resolve('gpt-9-unknown');

    expect([r.reject, r.rates, r.flags]).toEqual([true, null, ['unpriced_model']]);
  });

  it('does not reject a known model when unknown_model is reject', () => {
    expect(pricer({ unknown_model: 'reject' }).resolve('gpt-4o').reject).toBe(false);
  });

  it('prices nothing from the catalogue when it is turned off', () => {
    expect(pricer({}, false).resolve('gpt-4o').rates).toBeNull();
  });
});

describe('pricer: prices that change over time', () => {
  it('picks the catalogue price in force at the given time', () => {
    const p = createPricer(undefined);

    const june = Date.parse('2026-06-01T00:00:00Z');
    const july = Date.parse('2026-07-01T00:00:00Z');

    const before = p.resolve('mistral-medium-latest', 'mistral', june);
    const after = p.resolve('mistral-medium-latest', 'mistral', july);

    expect([cost(before), cost(after)]).toEqual(['0.0006', '0.00225']);
  });

  it('reads its clock when no time is given', () => {
    const p = createPricer(undefined, { nowMs: () => Date.parse('2026-06-01T00:00:00Z') });

    expect(cost(p.resolve('mistral-medium-latest', 'mistral'))).toBe('0.0006');
  });
});

describe('pricer: memoization', () => {
  it('returns the same frozen resolution for the same name and provider', () => {
    const p = createPricer(undefined);

    const first = p.resolve('openai/gpt-4o', 'openai');
    const second = p.resolve('openai/gpt-4o', 'openai');

    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.flags)).toBe(true);
  });

  it('keeps resolutions apart per provider hint', () => {
    const p = createPricer(undefined);

    expect(p.resolve('gpt-4o', 'azure')).not.toBe(p.resolve('gpt-4o', 'openai'));
  });

  it('stays correct after the memo limit empties it', () => {
    const p = createPricer(undefined, { memoLimit: 3 });

    for (let i = 0; i < 10; i++) p.resolve(`junk-${i}`);

    expect(cost(p.resolve('gpt-4o'))).toBe('0.0035');
  });

  it('resolves a memoized name 10,000 times quickly', () => {
    const p = createPricer(undefined);
    p.resolve('openai/gpt-4o-2024-08-06', 'openai');

    let last: Resolution | undefined;
    for (let i = 0; i < 10_000; i++) last = p.resolve('openai/gpt-4o-2024-08-06', 'openai');

    expect(last?.pricedAs).toBe('gpt-4o');
  });
});
