import { findProvider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { picoToDecimal } from '../money/money.js';
import { emptyUsage } from '../providers/types.js';
import { additionNote, ADDITIONS, withAdditions } from './additions.js';
import { computeCost } from './cost.js';
import { createPricer } from './pricer.js';

const openai = findProvider({ providerId: 'openai' });

function bundledCost(model: string, input: number, cached: number, output: number) {
  const resolution = createPricer(undefined).resolve(model, 'openai');
  if (!resolution.rates) return null;
  const usage = {
    ...emptyUsage(),
    inputTokens: input,
    cachedInputTokens: cached,
    outputTokens: output,
  };
  return picoToDecimal(computeCost(usage, resolution.rates));
}

describe('catalogue additions', () => {
  it('are all still missing from the installed catalogue (drop the ones a new release has)', () => {
    const models = new Map((openai?.models ?? []).map((m) => [m.id, m]));
    const lacking = (id: string, keys: string[]) => {
      const prices = models.get(id)?.prices;
      return (
        prices !== undefined && !Array.isArray(prices) && keys.some((k) => prices[k] === undefined)
      );
    };
    const needed = {
      fill: ADDITIONS.openai!.fill.filter((f) => lacking(f.id, Object.keys(f.prices))).map(
        (f) => f.id,
      ),
      add: ADDITIONS.openai!.add.filter((m) => !models.has(m.id)).map((m) => m.id),
    };

    expect(needed).toEqual({
      fill: ['ft:gpt-4o', 'ft:gpt-4o-mini'],
      add: ['ft:gpt-4.1', 'ft:gpt-4.1-mini', 'ft:gpt-4.1-nano'],
    });
  });

  it('price case 6 from the bundled catalogue alone, cached input at the fine-tuned rate', () => {
    // 12,000 × 0.30/M + 8,000 × 0.15/M + 1,500 × 1.20/M
    expect(bundledCost('ft:gpt-4o-mini-2024-07-18:acme-corp::9xYzAb12', 20_000, 8_000, 1_500)).toBe(
      '0.0066',
    );
    // 1,000 × 3.75/M + 100 × 15/M, then with 600 of the 1,000 cached at 1.875/M
    expect(bundledCost('ft:gpt-4o-2024-08-06:acme-corp:support-bot:AbC123', 1_000, 0, 100)).toBe(
      '0.00525',
    );
    expect(bundledCost('ft:gpt-4o-2024-08-06:acme-corp:support-bot:AbC123', 1_000, 600, 100)).toBe(
      '0.004125',
    );
  });

  it('price gpt-4.1 fine-tunes, which the catalogue does not list', () => {
    // 12,000 × 3/M + 8,000 × 0.75/M + 1,500 × 12/M
    expect(bundledCost('ft:gpt-4.1-2025-04-14:acme::x1', 20_000, 8_000, 1_500)).toBe('0.06');
    // 12,000 × 0.80/M + 8,000 × 0.20/M + 1,500 × 3.20/M
    expect(bundledCost('ft:gpt-4.1-mini-2025-04-14:acme:bot:x2', 20_000, 8_000, 1_500)).toBe(
      '0.016',
    );
    // 12,000 × 0.20/M + 8,000 × 0.05/M + 1,500 × 0.80/M
    expect(bundledCost('ft:gpt-4.1-nano-2025-04-14:acme::x3', 20_000, 8_000, 1_500)).toBe('0.004');
  });

  it('never replace a price the catalogue has', () => {
    const models = withAdditions('openai', [
      {
        id: 'ft:gpt-4o',
        match: { starts_with: 'ft:gpt-4o-2024-' },
        prices: { input_mtok: 9, cache_read_mtok: 7 },
      },
      { id: 'ft:gpt-4.1', match: { equals: 'ft:gpt-4.1-x' }, prices: { input_mtok: 1 } },
    ]);

    expect(models.map((m) => [m.id, m.prices])).toEqual([
      ['ft:gpt-4o', { input_mtok: 9, cache_read_mtok: 7 }],
      ['ft:gpt-4.1', { input_mtok: 1 }],
      ['ft:gpt-4.1-mini', { input_mtok: 0.8, cache_read_mtok: 0.2, output_mtok: 3.2 }],
      ['ft:gpt-4.1-nano', { input_mtok: 0.2, cache_read_mtok: 0.05, output_mtok: 0.8 }],
    ]);
  });

  it('are named where spendgate price shows the source', () => {
    expect(additionNote('openai', 'ft:gpt-4o-mini')).toBe('cached input rate added by Spendgate');
    expect(additionNote('openai', 'ft:gpt-4.1')).toBe('entry added by Spendgate');
    expect(additionNote('openai', 'gpt-4o')).toBeNull();
    expect(additionNote('anthropic', 'ft:gpt-4o')).toBeNull();
  });
});
