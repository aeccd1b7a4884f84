import { picoToDecimal, type Pico } from '../../money/money.js';
import type { Usage } from '../../providers/types.js';
import { additionNote } from '../../pricing/additions.js';
import { CATALOGUE_LABEL } from '../../pricing/catalogue.js';
import type { Resolution } from '../../pricing/pricer.js';
import { RATE_KEYS, type RateSet } from '../../pricing/rates.js';

const RATE_LABELS: Readonly<Record<keyof RateSet, string>> = {
  input: 'input',
  output: 'output',
  cachedInput: 'cached input',
  cacheWrite: 'cache write 5m',
  cacheWrite1h: 'cache write 1h',
  reasoning: 'reasoning',
  inputAudio: 'audio input',
  outputAudio: 'audio output',
  inputImage: 'image input',
  outputImage: 'image output',
};

const MATCH_LABELS: Readonly<Record<Resolution['match'], string>> = {
  exact: 'exact',
  prefix_stripped: 'provider prefix stripped',
  alias: 'family alias of a snapshot without its own price',
  fine_tune: 'fine-tuned rates of the base model',
  fallback: 'pricing.unknown_model rates',
  none: 'no price found',
};

const line = (label: string, value: string): string => `${label.padEnd(16)}${value}`;

// Only the classes that have a price of their own are listed; the others are charged at the
// rate they are a slice of, which the cost line already reflects.
function rateList(set: RateSet): string {
  const parts: string[] = [];
  for (const key of RATE_KEYS) {
    const value = set[key];
    if (value !== null) parts.push(`${RATE_LABELS[key]} ${picoToDecimal(value)}`);
  }
  return parts.join(', ');
}

function sourceText(resolution: Resolution): string {
  if (resolution.source === 'catalogue') {
    const provider = resolution.catalogueProvider ? `, ${resolution.catalogueProvider}` : '';
    const added =
      resolution.catalogueProvider && resolution.pricedAs
        ? additionNote(resolution.catalogueProvider, resolution.pricedAs)
        : null;
    return `catalogue (${CATALOGUE_LABEL}${provider}${added ? `; ${added}` : ''})`;
  }
  if (resolution.source === 'config') return 'config (pricing.models)';
  if (resolution.source === 'fallback') return 'config (pricing.unknown_model)';
  return 'none';
}

/**
 * The text `spendgate price <model>` prints: the resolved key, how it matched, the source,
 * every rate in USD per million tokens and the cost of the given usage as a plain decimal.
 */
export function formatPrice(resolution: Resolution, usage: Usage, cost: Pico | null): string {
  const out = [
    line('model', resolution.rawModel),
    line('priced as', resolution.pricedAs ?? '(none)'),
    line('matched', MATCH_LABELS[resolution.match]),
    line('source', sourceText(resolution)),
  ];

  if (resolution.fineTune) {
    const ft = resolution.fineTune;
    const suffix = ft.suffix === '' ? '(none)' : ft.suffix;
    out.push(line('fine-tune', `base ${ft.base}, org ${ft.org}, suffix ${suffix}, id ${ft.id}`));
  }
  if (resolution.flags.length > 0) out.push(line('flags', resolution.flags.join(', ')));

  if (resolution.rates) {
    out.push(line('rates ($/M)', rateList(resolution.rates)));
    for (const tier of resolution.rates.tiers) {
      out.push(line(`  > ${tier.aboveInputTokens} in`, rateList(tier)));
    }
  }

  out.push(
    line(
      'usage',
      `input ${usage.inputTokens} (cached ${usage.cachedInputTokens}, ` +
        `cache write ${usage.cacheWriteTokens}), output ${usage.outputTokens}`,
    ),
  );

  let costText = cost === null ? 'unknown (unpriced model)' : `${picoToDecimal(cost)} USD`;
  if (resolution.reject) costText = 'rejected (unknown_model)';
  out.push(line('cost', costText));

  return out.join('\n');
}
