import type { ModelInfo, ModelPrice } from '@pydantic/genai-prices';

/**
 * Prices the bundled catalogue lacks, from OpenAI's published price list (fine-tuning table).
 * They join the catalogue's own data when a provider is indexed, so names resolve to them the
 * same way; `spendgate price` and the ledger's `price_source` still say `catalogue`, and
 * `spendgate price` names the addition.
 *
 * - `fill`: price keys missing from an entry the catalogue has (never one it has).
 * - `add`: entries the catalogue does not have at all.
 *
 * When a newer catalogue has the key or the entry itself, its own value wins and the addition
 * does nothing; `additions.test.ts` says which are still needed.
 */
export type CatalogueAdditions = {
  readonly fill: readonly { readonly id: string; readonly prices: ModelPrice }[];
  readonly add: readonly ModelInfo[];
};

// Fine-tuned models are billed at their own rates, and cached input at half the input rate,
// as OpenAI's fine-tuning price table lists them (USD per million tokens).
const OPENAI: CatalogueAdditions = {
  fill: [
    { id: 'ft:gpt-4o', prices: { cache_read_mtok: 1.875 } },
    { id: 'ft:gpt-4o-mini', prices: { cache_read_mtok: 0.15 } },
  ],
  add: [
    {
      id: 'ft:gpt-4.1',
      match: { starts_with: 'ft:gpt-4.1-2025-' },
      prices: { input_mtok: 3, cache_read_mtok: 0.75, output_mtok: 12 },
    },
    {
      id: 'ft:gpt-4.1-mini',
      match: { starts_with: 'ft:gpt-4.1-mini-2025-' },
      prices: { input_mtok: 0.8, cache_read_mtok: 0.2, output_mtok: 3.2 },
    },
    {
      id: 'ft:gpt-4.1-nano',
      match: { starts_with: 'ft:gpt-4.1-nano-2025-' },
      prices: { input_mtok: 0.2, cache_read_mtok: 0.05, output_mtok: 0.8 },
    },
  ],
};

/** The additions by catalogue provider id. */
export const ADDITIONS: Readonly<Record<string, CatalogueAdditions>> = { openai: OPENAI };

/** What people read for a catalogue price key. */
const KEY_NAMES: Readonly<Record<string, string>> = { cache_read_mtok: 'cached input rate' };

/** What the additions say about an entry, for `spendgate price`; null when nothing. */
export function additionNote(providerId: string, id: string): string | null {
  const additions = ADDITIONS[providerId];
  if (!additions) return null;
  if (additions.add.some((m) => m.id === id)) return 'entry added by Spendgate';
  const fill = additions.fill.find((f) => f.id === id);
  if (!fill) return null;
  const keys = Object.keys(fill.prices).map((key) => KEY_NAMES[key] ?? key);
  return `${keys.join(', ')} added by Spendgate`;
}

/**
 * A provider's models with the additions applied: missing keys filled in, missing entries
 * appended after the catalogue's own (so a catalogue match is always tried first).
 */
export function withAdditions(providerId: string, models: readonly ModelInfo[]): ModelInfo[] {
  const additions = ADDITIONS[providerId];
  if (!additions) return [...models];
  const out = models.map((info) => {
    const fill = additions.fill.find((f) => f.id === info.id);
    // Dated price histories are left as they are: which period a key belongs to is unknown.
    if (!fill || Array.isArray(info.prices)) return info;
    return { ...info, prices: { ...fill.prices, ...info.prices } };
  });
  for (const added of additions.add) {
    if (!models.some((m) => m.id === added.id)) out.push(added);
  }
  return out;
}
