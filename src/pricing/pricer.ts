import {
  bundledCatalogue,
  variantIndexAt,
  type Catalogue,
  type CatalogueEntry,
} from './catalogue.js';
import { modelRates, rateSet, type ModelRates, type PartialRates, type RateSet } from './rates.js';
import { familyAlias, parseFineTune, stripProviderPrefix, type FineTune } from './resolve.js';
import {
  DEFAULT_MAX_OUTPUT_TOKENS,
  type FallbackRatesConfig,
  type ModelPriceConfig,
  type PricingConfig,
} from './schema.js';

/** How a model name found its price. */
export type PriceMatch = 'exact' | 'prefix_stripped' | 'alias' | 'fine_tune' | 'fallback' | 'none';

/** Where a price came from; it becomes the ledger row's `price_source`. */
export type PriceSource = 'config' | 'catalogue' | 'fallback';

/** Row flags that pricing can raise. */
export type PriceFlag = 'price_alias' | 'price_fallback' | 'unpriced_model';

/** The outcome of resolving one model name; shared and frozen, never mutate it. */
export type Resolution = {
  /** The model string as sent, kept for attribution. */
  readonly rawModel: string;
  /** The price-table key used for pricing (a catalogue entry id or a config key). */
  readonly pricedAs: string | null;
  readonly match: PriceMatch;
  readonly source: PriceSource | null;
  /** `null` means unpriced: the cost is unknown, never $0. */
  readonly rates: ModelRates | null;
  readonly flags: readonly PriceFlag[];
  readonly fineTune?: Readonly<FineTune>;
  /** The catalogue provider whose entry priced the model, when the catalogue did. */
  readonly catalogueProvider?: string;
  /** Output tokens to reserve when the request sets no limit. */
  readonly defaultMaxOutputTokens: number;
  /** The model is unknown and `pricing.unknown_model` is `reject`. */
  readonly reject: boolean;
};

/** Resolves model names to prices, memoized per model string and provider hint. */
export type Pricer = {
  /**
   * Resolves `rawModel`; `provider` (e.g. `openai`, `azure`, `bedrock`) prefers that provider's
   * catalogue entry, and `atMs` picks date- or time-of-day-dependent catalogue prices.
   */
  resolve(rawModel: string, provider?: string, atMs?: number): Resolution;
};

/** Construction options of {@link createPricer}. */
export type PricerOptions = {
  /** The catalogue to consult, or `false` to price from the config alone. */
  catalogue?: Catalogue | false;
  /** The clock for time-dependent catalogue prices when `resolve` gets no `atMs`. */
  nowMs?: () => number;
  /** Distinct names kept in the memo before it is emptied (bounds memory under junk names). */
  memoLimit?: number;
};

type ConfigModel = { readonly name: string; readonly rates: ModelRates; readonly maxOut: number };

type Variant = { readonly entry: CatalogueEntry; readonly resolutions: readonly Resolution[] };

type Memo = Resolution | Variant;

// Config field → rate-set key; the same names serve models, tiers and `unknown_model`.
const CONFIG_FIELDS = [
  ['input_per_mtok', 'input'],
  ['output_per_mtok', 'output'],
  ['cached_input_per_mtok', 'cachedInput'],
  ['cache_write_per_mtok', 'cacheWrite'],
  ['cache_write_1h_per_mtok', 'cacheWrite1h'],
  ['reasoning_per_mtok', 'reasoning'],
  ['input_audio_per_mtok', 'inputAudio'],
  ['output_audio_per_mtok', 'outputAudio'],
  ['input_image_per_mtok', 'inputImage'],
  ['output_image_per_mtok', 'outputImage'],
] as const satisfies readonly (readonly [keyof FallbackRatesConfig, keyof RateSet])[];

type ConfigRates = { [F in (typeof CONFIG_FIELDS)[number][0]]?: bigint | undefined };

function partialRates(fields: ConfigRates): PartialRates {
  const out: PartialRates = {};
  for (const [field, key] of CONFIG_FIELDS) {
    const value = fields[field];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function toRates(c: FallbackRatesConfig | ModelPriceConfig): ModelRates {
  const tiers = 'tiers' in c ? c.tiers : [];
  // A tier that omits a price inherits the base one (`modelRates` merges), never zero.
  return modelRates(
    rateSet(partialRates(c)),
    tiers.map((t) => ({ aboveInputTokens: t.above_input_tokens, rates: partialRates(t) })),
  );
}

function freeze(r: Resolution): Resolution {
  Object.freeze(r.flags);
  if (r.fineTune) Object.freeze(r.fineTune);
  return Object.freeze(r);
}

/** Builds a pricer over the config's `pricing` section and the bundled catalogue. */
export function createPricer(
  config: PricingConfig | undefined,
  options: PricerOptions = {},
): Pricer {
  const catalogue = options.catalogue === false ? null : (options.catalogue ?? bundledCatalogue());
  // Only time-dependent catalogue entries read the clock; the app passes its own `Clock`.
  const nowMs = options.nowMs ?? Date.now;
  const memoLimit = options.memoLimit ?? 50_000;

  const models = new Map<string, ConfigModel>();
  for (const [name, entry] of Object.entries(config?.models ?? {})) {
    const maxOut = entry.default_max_output_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    models.set(name.trim().toLowerCase(), { name, rates: toRates(entry), maxOut });
  }
  const unknown = config?.unknown_model;
  const fallbackRates = unknown && unknown !== 'reject' ? toRates(unknown) : null;

  const memo = new Map<string, Map<string, Memo>>();
  let memoSize = 0;

  const configHit = (
    rawModel: string,
    hit: ConfigModel,
    match: PriceMatch,
    flags: PriceFlag[],
    fineTune?: FineTune,
  ): Resolution =>
    freeze({
      rawModel,
      pricedAs: hit.name,
      match,
      source: 'config',
      rates: hit.rates,
      flags,
      ...(fineTune ? { fineTune } : {}),
      defaultMaxOutputTokens: hit.maxOut,
      reject: false,
    });

  const unpriced = (rawModel: string, fineTune?: FineTune): Resolution =>
    freeze({
      rawModel,
      pricedAs: null,
      match: fallbackRates ? 'fallback' : 'none',
      source: fallbackRates ? 'fallback' : null,
      rates: fallbackRates,
      flags: [fallbackRates ? 'price_fallback' : 'unpriced_model'],
      ...(fineTune ? { fineTune } : {}),
      defaultMaxOutputTokens: DEFAULT_MAX_OUTPUT_TOKENS,
      reject: unknown === 'reject',
    });

  // A catalogue entry whose id the config prices is a config price reached through the
  // catalogue's list of names (`gpt-4o-2024-11-20` is listed under `gpt-4o`).
  const catalogueHit = (
    rawModel: string,
    entry: CatalogueEntry,
    match: PriceMatch,
    flags: PriceFlag[],
    fineTune?: FineTune,
  ): Memo => {
    const configured = models.get(entry.id.toLowerCase());
    if (configured) {
      const viaAlias = match === 'fine_tune' ? match : 'alias';
      return configHit(rawModel, configured, viaAlias, [...flags, 'price_alias'], fineTune);
    }
    const resolutions = entry.variants.map((variant) =>
      variant.rates === null
        ? unpriced(rawModel, fineTune)
        : freeze({
            rawModel,
            pricedAs: entry.id,
            match,
            source: 'catalogue',
            rates: variant.rates,
            flags: [...flags],
            ...(fineTune ? { fineTune } : {}),
            catalogueProvider: entry.providerId,
            defaultMaxOutputTokens: DEFAULT_MAX_OUTPUT_TOKENS,
            reject: false,
          }),
    );
    const only = resolutions[0];
    return !entry.timed && only ? only : { entry, resolutions };
  };

  const resolveFineTune = (rawModel: string, name: string, ft: FineTune, hint?: string): Memo => {
    const own = models.get(`ft:${ft.base.toLowerCase()}`);
    if (own) return configHit(rawModel, own, 'fine_tune', [], ft);

    const listed = catalogue?.lookup(name, hint, 'fine_tune', ft.base);
    if (listed) return catalogueHit(rawModel, listed, 'fine_tune', [], ft);

    const family = familyAlias(ft.base);
    const viaFamily = family ? models.get(`ft:${family.toLowerCase()}`) : undefined;
    if (viaFamily) return configHit(rawModel, viaFamily, 'fine_tune', ['price_alias'], ft);

    // Never the base model's ordinary rates: fine-tuned inference is priced differently.
    return unpriced(rawModel, ft);
  };

  const compute = (rawModel: string, hint: string | undefined): Memo => {
    const name = stripProviderPrefix(rawModel);
    const stripped = name !== rawModel.trim();

    const ft = parseFineTune(name);
    if (ft) return resolveFineTune(rawModel, name, ft, hint);

    // Config beats catalogue at every step; an exact snapshot beats its family alias.
    const own = models.get(rawModel.trim().toLowerCase());
    if (own) return configHit(rawModel, own, 'exact', []);
    const ownStripped = stripped ? models.get(name.toLowerCase()) : undefined;
    if (ownStripped) return configHit(rawModel, ownStripped, 'prefix_stripped', []);

    const listed = catalogue?.lookup(rawModel, hint);
    if (listed) return catalogueHit(rawModel, listed, 'exact', []);
    const listedStripped = stripped ? catalogue?.lookup(name, hint) : undefined;
    if (listedStripped) return catalogueHit(rawModel, listedStripped, 'prefix_stripped', []);

    const family = familyAlias(name);
    if (family) {
      const ownFamily = models.get(family.toLowerCase());
      if (ownFamily) return configHit(rawModel, ownFamily, 'alias', ['price_alias']);
      const listedFamily = catalogue?.lookup(family, hint);
      if (listedFamily) return catalogueHit(rawModel, listedFamily, 'alias', ['price_alias']);
    }

    return unpriced(rawModel);
  };

  const pick = (found: Memo, atMs: number | undefined): Resolution => {
    if (!('entry' in found)) return found;
    const index = variantIndexAt(found.entry, atMs ?? nowMs());
    // Every variant has a resolution, built with the entry; the fallback only satisfies types.
    return found.resolutions[index] ?? found.resolutions[0] ?? unpriced('');
  };

  return {
    resolve(rawModel, provider, atMs) {
      const hint = provider ?? '';
      let byName = memo.get(hint);
      const cached = byName?.get(rawModel);
      if (cached) return pick(cached, atMs);

      const found = compute(rawModel, provider || undefined);
      if (memoSize >= memoLimit) {
        memo.clear();
        memoSize = 0;
        byName = undefined;
      }
      if (!byName) {
        byName = new Map();
        memo.set(hint, byName);
      }
      byName.set(rawModel, found);
      memoSize += 1;
      return pick(found, atMs);
    },
  };
}
