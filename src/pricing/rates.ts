import type { Pico } from '../money/money.js';

/**
 * One set of per-token prices, each in pico-dollars per million tokens. `null` means the class
 * is not priced apart: it is then charged at the rate it is a slice of (see `cost.ts`).
 */
export type RateSet = {
  readonly input: Pico;
  readonly output: Pico;
  readonly cachedInput: Pico | null;
  readonly cacheWrite: Pico | null;
  readonly cacheWrite1h: Pico | null;
  readonly reasoning: Pico | null;
  readonly inputAudio: Pico | null;
  readonly outputAudio: Pico | null;
  readonly inputImage: Pico | null;
  readonly outputImage: Pico | null;
};

/** A complete rate set that replaces the base rates when a request's input passes the bound. */
export type RateTier = RateSet & { readonly aboveInputTokens: number };

/** A model's prices: base rates plus long-context tiers sorted by ascending bound. */
export type ModelRates = RateSet & { readonly tiers: readonly RateTier[] };

/** A partial rate set, as config tiers and catalogue tier steps give them. */
export type PartialRates = { -readonly [K in keyof RateSet]?: RateSet[K] };

/** The keys of a rate set, in the order they are displayed. */
export const RATE_KEYS: readonly (keyof RateSet)[] = [
  'input',
  'output',
  'cachedInput',
  'cacheWrite',
  'cacheWrite1h',
  'reasoning',
  'inputAudio',
  'outputAudio',
  'inputImage',
  'outputImage',
];

/** Builds a rate set from partial rates, with `input` and `output` at 0 when absent. */
export function rateSet(partial: PartialRates): RateSet {
  return {
    input: partial.input ?? 0n,
    output: partial.output ?? 0n,
    cachedInput: partial.cachedInput ?? null,
    cacheWrite: partial.cacheWrite ?? null,
    cacheWrite1h: partial.cacheWrite1h ?? null,
    reasoning: partial.reasoning ?? null,
    inputAudio: partial.inputAudio ?? null,
    outputAudio: partial.outputAudio ?? null,
    inputImage: partial.inputImage ?? null,
    outputImage: partial.outputImage ?? null,
  };
}

/**
 * Builds frozen model rates. A tier names only the prices that change above its bound; the
 * others are inherited from the base, so each tier is stored complete and the cost code never
 * merges at request time.
 */
export function modelRates(
  base: RateSet,
  tiers: readonly { aboveInputTokens: number; rates: PartialRates }[] = [],
): ModelRates {
  const built = [...tiers]
    .sort((a, b) => a.aboveInputTokens - b.aboveInputTokens)
    .map((tier) => {
      const merged: PartialRates = { ...base };
      for (const key of RATE_KEYS) {
        const value = tier.rates[key];
        if (value !== undefined && value !== null) merged[key] = value;
      }
      return Object.freeze({ ...rateSet(merged), aboveInputTokens: tier.aboveInputTokens });
    });

  return Object.freeze({ ...base, tiers: Object.freeze(built) });
}

/** The rate set that applies to a request with `inputTokens` prompt tokens in all. */
export function ratesForInput(rates: ModelRates, inputTokens: number): RateSet {
  let chosen: RateSet = rates;
  // Tiers are sorted ascending, so the last one whose bound is passed is the one in force.
  for (const tier of rates.tiers) {
    if (inputTokens > tier.aboveInputTokens) chosen = tier;
    else break;
  }
  return chosen;
}
