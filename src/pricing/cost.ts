import { roundMicroPico, tokensTimesRate, type Pico } from '../money/money.js';
import type { Usage } from '../providers/types.js';
import { ratesForInput, type ModelRates, type RateSet } from './rates.js';

/** The token classes a request is charged for, one FOCUS charge row each. */
export type TokenClass =
  | 'input'
  | 'cached_input'
  | 'cache_write'
  | 'cache_write_1h'
  | 'input_audio'
  | 'input_image'
  | 'output'
  | 'reasoning'
  | 'output_audio'
  | 'output_image';

/** One token class of a request: its tokens, its unit price and its unrounded cost. */
export type CostPart = {
  class: TokenClass;
  tokens: number;
  unitPricePicoPerMtok: Pico;
  /** Cost in pico-dollars × 1e6, not rounded, so the parts sum exactly to the total. */
  costMicroPico: bigint;
};

type ClassRule = {
  readonly cls: TokenClass;
  readonly tokens: (u: Usage) => number;
  readonly rate: (r: RateSet) => Pico;
};

// Provider counts may disagree by a token or two (a part larger than its total); a slice is
// never negative, so such a request is not credited money.
const atLeastZero = (n: number): number => (n > 0 ? n : 0);

/**
 * Every class is a slice of the input or the output total, priced once. A slice without a
 * price of its own is charged at the rate of what it is carved from (text input or output),
 * and a 1-hour cache write without its own price at the 5-minute write price.
 */
const CLASS_RULES: readonly ClassRule[] = [
  {
    cls: 'input',
    tokens: (u) =>
      atLeastZero(
        u.inputTokens -
          u.cachedInputTokens -
          u.cacheWriteTokens -
          u.inputAudioTokens -
          u.inputImageTokens,
      ),
    rate: (r) => r.input,
  },
  {
    cls: 'cached_input',
    tokens: (u) => u.cachedInputTokens,
    rate: (r) => r.cachedInput ?? r.input,
  },
  {
    cls: 'cache_write',
    tokens: (u) => atLeastZero(u.cacheWriteTokens - u.cacheWrite1hTokens),
    rate: (r) => r.cacheWrite ?? r.input,
  },
  {
    cls: 'cache_write_1h',
    tokens: (u) => u.cacheWrite1hTokens,
    rate: (r) => r.cacheWrite1h ?? r.cacheWrite ?? r.input,
  },
  { cls: 'input_audio', tokens: (u) => u.inputAudioTokens, rate: (r) => r.inputAudio ?? r.input },
  { cls: 'input_image', tokens: (u) => u.inputImageTokens, rate: (r) => r.inputImage ?? r.input },
  {
    cls: 'output',
    tokens: (u) =>
      atLeastZero(u.outputTokens - u.reasoningTokens - u.outputAudioTokens - u.outputImageTokens),
    rate: (r) => r.output,
  },
  // Reasoning tokens are inside the output total (CASES.md case 3), priced apart only when the
  // model has a reasoning price.
  { cls: 'reasoning', tokens: (u) => u.reasoningTokens, rate: (r) => r.reasoning ?? r.output },
  {
    cls: 'output_audio',
    tokens: (u) => u.outputAudioTokens,
    rate: (r) => r.outputAudio ?? r.output,
  },
  {
    cls: 'output_image',
    tokens: (u) => u.outputImageTokens,
    rate: (r) => r.outputImage ?? r.output,
  },
];

/**
 * The exact cost of a request's usage at a model's rates, rounded once to whole pico-dollars;
 * a long-context tier passed by the total input applies to every class.
 */
export function computeCost(usage: Usage, rates: ModelRates): Pico {
  const set = ratesForInput(rates, usage.inputTokens);
  let sum = 0n;

  for (const rule of CLASS_RULES) {
    const tokens = rule.tokens(usage);
    if (tokens > 0) sum += tokensTimesRate(tokens, rule.rate(set));
  }

  return roundMicroPico(sum);
}

/**
 * The request's cost per token class, leaving out classes with no tokens; the rounded sum of
 * the parts' `costMicroPico` equals {@link computeCost}.
 */
export function costBreakdown(usage: Usage, rates: ModelRates): CostPart[] {
  const set = ratesForInput(rates, usage.inputTokens);
  const parts: CostPart[] = [];

  for (const rule of CLASS_RULES) {
    const tokens = rule.tokens(usage);
    if (tokens <= 0) continue;
    const unitPricePicoPerMtok = rule.rate(set);
    parts.push({
      class: rule.cls,
      tokens,
      unitPricePicoPerMtok,
      costMicroPico: tokensTimesRate(tokens, unitPricePicoPerMtok),
    });
  }

  return parts;
}
