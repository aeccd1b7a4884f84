import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { picoToDecimal, type Pico } from '../money/money.js';
import { CATALOGUE, Catalogue, ratesAt, ratesFromCatalogue, variantIndexAt } from './catalogue.js';
import type { RateSet } from './rates.js';

const usd = (p: Pico | null) => (p === null ? null : picoToDecimal(p));

function priced(set: RateSet) {
  return {
    input: usd(set.input),
    output: usd(set.output),
    cachedInput: usd(set.cachedInput),
    cacheWrite: usd(set.cacheWrite),
    cacheWrite1h: usd(set.cacheWrite1h),
  };
}

const catalogue = new Catalogue();
const NOW = Date.parse('2026-12-04T12:00:00Z');

function lookup(name: string, hint?: string) {
  const entry = catalogue.lookup(name, hint);
  const rates = entry ? ratesAt(entry, NOW) : null;
  return { entry, rates };
}

describe('catalogue: the bundled data', () => {
  it('names the installed package version', () => {
    const url = new URL('../../node_modules/@pydantic/genai-prices/package.json', import.meta.url);
    const installed = JSON.parse(readFileSync(url, 'utf8')) as { version: string };

    expect(installed.version).toBe(CATALOGUE.version);
  });

  it('reaches every provider it lists', () => {
    for (const id of catalogue.providerIds()) {
      expect(catalogue.lookup('no-such-model-anywhere', id)).toBeNull();
    }
    expect(catalogue.providerIds()).toContain('openai');
  });
});

describe('catalogue: real look-ups', () => {
  it('prices gpt-4o', () => {
    const { entry, rates } = lookup('gpt-4o');

    expect([entry?.id, entry?.providerId]).toEqual(['gpt-4o', 'openai']);
    expect(rates && priced(rates)).toEqual({
      input: '2.5',
      output: '10',
      cachedInput: '1.25',
      cacheWrite: null,
      cacheWrite1h: null,
    });
  });

  it('prices gpt-4o-mini', () => {
    const { rates } = lookup('gpt-4o-mini', 'openai');

    expect(rates && priced(rates)).toEqual({
      input: '0.15',
      output: '0.6',
      cachedInput: '0.075',
      cacheWrite: null,
      cacheWrite1h: null,
    });
  });

  it('prices claude-3-7-sonnet-20250219 with its cache prices', () => {
    const { entry, rates } = lookup('claude-3-7-sonnet-20250219');

    expect(entry?.providerId).toBe('anthropic');
    expect(rates && priced(rates)).toEqual({
      input: '3',
      output: '15',
      cachedInput: '0.3',
      cacheWrite: '3.75',
      cacheWrite1h: '6',
    });
  });

  it('prices claude-sonnet-4-5 with its tier above 200k input tokens', () => {
    const { rates } = lookup('claude-sonnet-4-5', 'anthropic');

    expect(rates && priced(rates)).toEqual({
      input: '3',
      output: '15',
      cachedInput: '0.3',
      cacheWrite: '3.75',
      cacheWrite1h: '6',
    });
    expect(rates?.tiers.map((t) => [t.aboveInputTokens, priced(t)])).toEqual([
      [
        200_000,
        { input: '6', output: '22.5', cachedInput: '0.6', cacheWrite: '7.5', cacheWrite1h: '12' },
      ],
    ]);
  });

  it('prices a mistral model', () => {
    const { entry, rates } = lookup('mistral-large-latest', 'mistral');

    expect(entry?.id).toBe('mistral-large');
    expect([usd(rates?.input ?? null), usd(rates?.output ?? null)]).toEqual(['2', '6']);
  });

  it('finds a mistral model without a hint through its naming rule', () => {
    expect(lookup('mistral-large-latest').entry?.providerId).toBe('mistral');
  });

  it('finds nothing for an unknown name', () => {
    expect(lookup('team-x-bot-v2').entry).toBeNull();
    expect(lookup('gpt-9-unknown', 'openai').entry).toBeNull();
  });

  it('maps a bedrock hint to the aws provider', () => {
    const { entry } = lookup('us.anthropic.claude-3-5-sonnet-20241022-v2:0', 'bedrock');

    expect(entry?.providerId).toBe('aws');
    expect(usd(entry ? (ratesAt(entry, NOW)?.input ?? null) : null)).toBe('3');
  });

  it('prefers the hinted provider and falls back to the providers it resells', () => {
    expect(lookup('gpt-4o', 'azure').entry?.providerId).toBe('openai');
  });

  it('returns only fine-tune entries for a fine-tune look-up', () => {
    const name = 'ft:gpt-4o-mini-2024-07-18:acme::x';
    const ft = catalogue.lookup(name, undefined, 'fine_tune', 'gpt-4o-mini');

    expect(ft?.id).toBe('ft:gpt-4o-mini');
    expect(catalogue.lookup('gpt-4o-mini', 'openai', 'fine_tune')).toBeNull();
  });
});

describe('catalogue: price conversion', () => {
  it('merges per-key tiers into complete tiers by bound', () => {
    const rates = ratesFromCatalogue({
      input_mtok: {
        base: 1,
        tiers: [
          { start: 100, price: 2 },
          { start: 300, price: 3 },
        ],
      },
      output_mtok: { base: 10, tiers: [{ start: 200, price: 20 }] },
    } as never);

    expect(rates?.tiers.map((t) => [t.aboveInputTokens, usd(t.input), usd(t.output)])).toEqual([
      [100, '2', '10'],
      [200, '2', '20'],
      [300, '3', '20'],
    ]);
  });

  it('reads an empty price object as a free model', () => {
    const rates = ratesFromCatalogue({});

    expect([rates?.input, rates?.output]).toEqual([0n, 0n]);
  });

  it('skips prices that are not per token', () => {
    expect(ratesFromCatalogue({ input_document_kpages: 1 })).toBeNull();
  });
});

describe('catalogue: prices that change over time', () => {
  it('picks the price in force from a start date on', () => {
    const entry = catalogue.lookup('mistral-medium-latest', 'mistral');
    if (!entry) throw new Error('mistral-medium-latest missing from the catalogue');

    expect(entry.timed).toBe(true);
    expect(usd(ratesAt(entry, Date.parse('2026-06-15T23:59:59Z'))?.input ?? null)).toBe('0.4');
    expect(usd(ratesAt(entry, Date.parse('2026-06-16T00:00:00Z'))?.input ?? null)).toBe('1.5');
  });

  it('picks a daily off-peak window, including one over midnight', () => {
    const entry = {
      id: 'x',
      providerId: 'p',
      timed: true,
      variants: [
        { when: null, rates: null },
        { when: { kind: 'daily' as const, startSec: 22 * 3600, endSec: 2 * 3600 }, rates: null },
      ],
    };

    expect(variantIndexAt(entry, Date.parse('2026-01-01T23:00:00Z'))).toBe(1);
    expect(variantIndexAt(entry, Date.parse('2026-01-01T01:59:59Z'))).toBe(1);
    expect(variantIndexAt(entry, Date.parse('2026-01-01T02:00:00Z'))).toBe(0);
  });
});
