import { describe, expect, it } from 'vitest';
import { picoToDecimal, roundMicroPico, usdToPico } from '../money/money.js';
import { emptyUsage, type Usage } from '../providers/types.js';
import { computeCost, costBreakdown } from './cost.js';
import { modelRates, rateSet, type PartialRates } from './rates.js';

const usd = (n: number) => usdToPico(n);

function rates(base: PartialRates, tiers: { above: number; rates: PartialRates }[] = []) {
  return modelRates(
    rateSet(base),
    tiers.map((t) => ({ aboveInputTokens: t.above, rates: t.rates })),
  );
}

function usage(parts: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...parts };
}

const sonnet = rates(
  { input: usd(3), output: usd(15), cachedInput: usd(0.3), cacheWrite: usd(3.75) },
  [
    {
      above: 200_000,
      rates: { input: usd(6), output: usd(22.5), cachedInput: usd(0.6), cacheWrite: usd(7.5) },
    },
  ],
);

describe('cost: long-context tiers', () => {
  it('applies a passed tier to every token class of the request', () => {
    const u = usage({
      inputTokens: 250_000,
      cachedInputTokens: 100_000,
      cacheWriteTokens: 50_000,
      outputTokens: 1000,
    });

    // 100,000 × 6 + 100,000 × 0.6 + 50,000 × 7.5 + 1,000 × 22.5, per million.
    expect(picoToDecimal(computeCost(u, sonnet))).toBe('1.0575');
  });

  it('keeps the base rates at exactly the bound', () => {
    const u = usage({ inputTokens: 200_000, outputTokens: 1000 });

    expect(picoToDecimal(computeCost(u, sonnet))).toBe('0.615');
  });

  it('inherits the base price for a class the tier does not name', () => {
    const r = rates({ input: usd(1), output: usd(2), reasoning: usd(4) }, [
      { above: 10, rates: { input: usd(10) } },
    ]);
    const u = usage({ inputTokens: 11, outputTokens: 3, reasoningTokens: 1 });

    expect(picoToDecimal(computeCost(u, r))).toBe('0.000118');
  });

  it('picks the highest passed tier when there are several', () => {
    const r = rates({ input: usd(1), output: usd(1) }, [
      { above: 2000, rates: { input: usd(3) } },
      { above: 1000, rates: { input: usd(2) } },
    ]);

    expect(picoToDecimal(computeCost(usage({ inputTokens: 1500 }), r))).toBe('0.003');
    expect(picoToDecimal(computeCost(usage({ inputTokens: 2500 }), r))).toBe('0.0075');
  });
});

describe('cost: slices without a price of their own', () => {
  const plain = rates({ input: usd(2), output: usd(8) });

  it('charges cache reads and writes at the input rate when unpriced', () => {
    const u = usage({ inputTokens: 1000, cachedInputTokens: 400, cacheWriteTokens: 100 });

    expect(picoToDecimal(computeCost(u, plain))).toBe('0.002');
  });

  it('charges 1-hour writes at the 5-minute write rate when no 1-hour rate is set', () => {
    const r = rates({ input: usd(3), output: usd(15), cacheWrite: usd(3.75) });
    const u = usage({ inputTokens: 1000, cacheWriteTokens: 1000, cacheWrite1hTokens: 1000 });

    expect(picoToDecimal(computeCost(u, r))).toBe('0.00375');
  });

  it('charges reasoning at its own rate only when one is set', () => {
    const withReasoning = rates({ input: usd(1), output: usd(2), reasoning: usd(5) });
    const u = usage({ outputTokens: 1000, reasoningTokens: 600 });

    expect(picoToDecimal(computeCost(u, plain))).toBe('0.008');
    expect(picoToDecimal(computeCost(u, withReasoning))).toBe('0.0038');
  });

  it('never credits money when a part exceeds its total', () => {
    const u = usage({ inputTokens: 10, cachedInputTokens: 12, outputTokens: 0 });

    expect(picoToDecimal(computeCost(u, plain))).toBe('0.000024');
  });

  it('costs nothing for an empty usage', () => {
    expect(computeCost(emptyUsage(), plain)).toBe(0n);
  });
});

describe('cost: rounding', () => {
  it('rounds the sum once, half up, to whole pico-dollars', () => {
    const r = rates({ input: usdToPico('0.0000015'), output: usdToPico('0.0000015') });
    const u = usage({ inputTokens: 1, outputTokens: 1 });

    // Each class costs 1.5 pico-dollars: rounding each part would give 4, the exact sum is 3.
    expect(computeCost(u, r)).toBe(3n);
    expect(computeCost(usage({ inputTokens: 1 }), r)).toBe(2n);
  });
});

describe('cost: breakdown per token class', () => {
  const full = rates({
    input: usd(2.5),
    output: usd(10),
    cachedInput: usd(1.25),
    cacheWrite: usd(3.125),
    cacheWrite1h: usd(5),
    reasoning: usd(12),
    inputAudio: usd(40),
    outputAudio: usd(80),
    inputImage: usd(8),
    outputImage: usd(32),
  });
  const u = usage({
    inputTokens: 10_000,
    cachedInputTokens: 3000,
    cacheWriteTokens: 2000,
    cacheWrite1hTokens: 500,
    inputAudioTokens: 1000,
    inputImageTokens: 777,
    outputTokens: 3333,
    reasoningTokens: 1111,
    outputAudioTokens: 222,
    outputImageTokens: 11,
  });

  it('lists each class once with its tokens and unit price', () => {
    const parts = costBreakdown(u, full).map((p) => [
      p.class,
      p.tokens,
      picoToDecimal(p.unitPricePicoPerMtok),
    ]);

    expect(parts).toEqual([
      ['input', 3223, '2.5'],
      ['cached_input', 3000, '1.25'],
      ['cache_write', 1500, '3.125'],
      ['cache_write_1h', 500, '5'],
      ['input_audio', 1000, '40'],
      ['input_image', 777, '8'],
      ['output', 1989, '10'],
      ['reasoning', 1111, '12'],
      ['output_audio', 222, '80'],
      ['output_image', 11, '32'],
    ]);
  });

  it('sums to exactly the computed cost once rounded', () => {
    const sum = costBreakdown(u, full).reduce((acc, p) => acc + p.costMicroPico, 0n);

    expect(roundMicroPico(sum)).toBe(computeCost(u, full));
    expect(picoToDecimal(computeCost(u, full))).toBe('0.116545');
  });

  it('leaves out classes with no tokens', () => {
    const parts = costBreakdown(usage({ inputTokens: 5, outputTokens: 1 }), full);

    expect(parts.map((p) => p.class)).toEqual(['input', 'output']);
  });

  it('uses the tier prices for every part above the bound', () => {
    const u2 = usage({ inputTokens: 300_000, outputTokens: 10 });

    const parts = costBreakdown(u2, sonnet).map((p) => picoToDecimal(p.unitPricePicoPerMtok));

    expect(parts).toEqual(['6', '22.5']);
  });
});
