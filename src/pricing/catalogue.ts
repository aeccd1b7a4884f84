import {
  findProvider,
  type MatchLogic,
  type ModelInfo,
  type ModelPrice,
  type Provider,
} from '@pydantic/genai-prices';
import { usdToPico } from '../money/money.js';
import { withAdditions } from './additions.js';
import { modelRates, rateSet, type ModelRates, type PartialRates, type RateSet } from './rates.js';

/**
 * The bundled catalogue: the installed `@pydantic/genai-prices` data, read offline (its
 * auto-update is never enabled). The date is the package's publication date; a test keeps the
 * version in step with the installed package.
 */
export const CATALOGUE = Object.freeze({
  package: '@pydantic/genai-prices',
  version: '0.1.8',
  date: '2026-09-23',
});

/** The catalogue as named in `price_source` details and `spendgate price` output. */
export const CATALOGUE_LABEL = `genai-prices ${CATALOGUE.version} (${CATALOGUE.date})`;

// The package exports no provider list, only `findProvider`. This is its data's order, which
// decides ties when a model name fits the `model_match` of several providers. A provider added
// by a newer data release is still reached through a provider hint.
const PROVIDER_IDS = [
  'anthropic',
  'arcee',
  'avian',
  'aws',
  'azure',
  'baseten',
  'cerebras',
  'cloudflare',
  'cohere',
  'cursor',
  'deepseek',
  'doubleword',
  'fireworks',
  'github-copilot',
  'google',
  'groq',
  'huggingface_cerebras',
  'huggingface_fireworks-ai',
  'huggingface_groq',
  'huggingface_hyperbolic',
  'huggingface_nebius',
  'huggingface_novita',
  'huggingface_nscale',
  'huggingface_ovhcloud',
  'huggingface_publicai',
  'huggingface_sambanova',
  'huggingface_together',
  'minimax',
  'mistral',
  'modal',
  'moonshotai',
  'novita',
  'openai',
  'openrouter',
  'ovhcloud',
  'perplexity',
  'quicksilverpro',
  'together',
  'typesafe',
  'voyageai',
  'x-ai',
  'zai',
  'zhipuai',
] as const;

/** When a catalogue price applies: from a date on, or during a daily UTC window. */
export type PriceWindow =
  { kind: 'from'; startMs: number } | { kind: 'daily'; startSec: number; endSec: number };

/** A catalogue model: its id, provider and its prices over time (`rates: null` = not per token). */
export type CatalogueEntry = {
  readonly id: string;
  readonly providerId: string;
  readonly variants: readonly { when: PriceWindow | null; rates: ModelRates | null }[];
  /** True when the price depends on the date or the time of day. */
  readonly timed: boolean;
};

/** Which catalogue entries a look-up may return. */
export type LookupKind = 'any' | 'fine_tune';

type Slot = { readonly info: ModelInfo; readonly providerId: string; built?: CatalogueEntry };

type ProviderIndex = {
  readonly id: string;
  readonly exact: Map<string, Slot>;
  readonly rules: readonly { test: Matcher; slot: Slot }[];
  readonly modelMatch: Matcher | null;
  readonly fallbacks: readonly string[];
};

type Matcher = (lowerName: string) => boolean;

// Only per-token prices matter to a token meter; per-request, per-page and per-second prices
// are left out (those endpoints are forwarded as `unmetered`).
const PRICE_KEYS: Readonly<Record<string, keyof RateSet>> = {
  input_mtok: 'input',
  output_mtok: 'output',
  cache_read_mtok: 'cachedInput',
  cache_write_mtok: 'cacheWrite',
  cache_write_1h_mtok: 'cacheWrite1h',
  output_reasoning_mtok: 'reasoning',
  input_audio_mtok: 'inputAudio',
  output_audio_mtok: 'outputAudio',
  input_image_mtok: 'inputImage',
  output_image_mtok: 'outputImage',
};

function compileMatch(logic: MatchLogic): Matcher {
  if ('or' in logic) {
    const parts = logic.or.map(compileMatch);
    return (s) => parts.some((p) => p(s));
  }
  if ('and' in logic) {
    const parts = logic.and.map(compileMatch);
    return (s) => parts.every((p) => p(s));
  }
  if ('equals' in logic) {
    const v = logic.equals.toLowerCase();
    return (s) => s === v;
  }
  if ('starts_with' in logic) {
    const v = logic.starts_with.toLowerCase();
    return (s) => s.startsWith(v);
  }
  if ('ends_with' in logic) {
    const v = logic.ends_with.toLowerCase();
    return (s) => s.endsWith(v);
  }
  if ('contains' in logic) {
    const v = logic.contains.toLowerCase();
    return (s) => s.includes(v);
  }
  const re = new RegExp(logic.regex);
  return (s) => re.test(s);
}

// The names a rule lists one by one (`equals`, possibly inside a top-level `or`), indexed for
// O(1) look-up; the rest of the rule stays a scanned matcher.
function splitEquals(logic: MatchLogic): { names: string[]; rest: MatchLogic[] } {
  if ('equals' in logic) return { names: [logic.equals.toLowerCase()], rest: [] };
  if (!('or' in logic)) return { names: [], rest: [logic] };
  const names: string[] = [];
  const rest: MatchLogic[] = [];
  for (const part of logic.or) {
    const split = splitEquals(part);
    names.push(...split.names);
    rest.push(...split.rest);
  }
  return { names, rest };
}

function indexProvider(provider: Provider): ProviderIndex {
  const exact = new Map<string, Slot>();
  const rules: { test: Matcher; slot: Slot }[] = [];

  for (const info of withAdditions(provider.id, provider.models)) {
    const slot: Slot = { info, providerId: provider.id };
    const { names, rest } = splitEquals(info.match);
    for (const name of names) if (!exact.has(name)) exact.set(name, slot);
    for (const logic of rest) rules.push({ test: compileMatch(logic), slot });
  }

  return {
    id: provider.id,
    exact,
    rules,
    modelMatch: provider.model_match ? compileMatch(provider.model_match) : null,
    fallbacks: provider.fallback_model_providers ?? [],
  };
}

function priceValue(value: unknown): { base: number; tiers: { start: number; price: number }[] } {
  if (typeof value === 'number') return { base: value, tiers: [] };
  const tiered = value as { base: number; tiers: { start: number; price: number }[] };
  return { base: tiered.base, tiers: tiered.tiers };
}

/** Converts one catalogue price object to model rates; `null` when it has no per-token price. */
export function ratesFromCatalogue(price: ModelPrice): ModelRates | null {
  const keys = Object.keys(price);
  // An empty price object is the catalogue's way of writing a free model (`...:free`).
  if (keys.length > 0 && price.input_mtok === undefined && price.output_mtok === undefined) {
    return null;
  }

  const base: PartialRates = {};
  const steps = new Map<number, PartialRates>();
  for (const key of keys) {
    const target = PRICE_KEYS[key];
    const raw = price[key];
    if (target === undefined || raw === undefined) continue;
    const { base: basePrice, tiers } = priceValue(raw);
    base[target] = usdToPico(basePrice);
    for (const tier of tiers) {
      const step = steps.get(tier.start) ?? {};
      step[target] = usdToPico(tier.price);
      steps.set(tier.start, step);
    }
  }

  // A catalogue tier is per price key; a request above a bound pays each key's latest step at
  // or below that bound, so every bound becomes one complete tier.
  const bounds = [...steps.keys()].sort((a, b) => a - b);
  const carried: PartialRates = {};
  const tiers = bounds.map((bound) => {
    Object.assign(carried, steps.get(bound));
    return { aboveInputTokens: bound, rates: { ...carried } };
  });

  return modelRates(rateSet(base), tiers);
}

function secondsOfDay(text: string): number {
  const match = /^(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?Z?$/.exec(text);
  if (!match) throw new RangeError(`catalogue time of day not understood: ${text}`);
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3] ?? 0);
}

function buildEntry(slot: Slot): CatalogueEntry {
  const { info } = slot;
  const variants = Array.isArray(info.prices)
    ? info.prices.map((conditional) => {
        const c = conditional.constraint;
        let when: PriceWindow | null = null;
        if (c?.type === 'start_date') {
          when = { kind: 'from', startMs: Date.parse(`${c.start_date}T00:00:00Z`) };
        } else if (c?.type === 'time_of_date') {
          const startSec = secondsOfDay(c.start_time);
          when = { kind: 'daily', startSec, endSec: secondsOfDay(c.end_time) };
        }
        return { when, rates: ratesFromCatalogue(conditional.prices) };
      })
    : [{ when: null, rates: ratesFromCatalogue(info.prices) }];

  return Object.freeze({
    id: info.id,
    providerId: slot.providerId,
    variants: Object.freeze(variants),
    timed: variants.some((v) => v.when !== null),
  });
}

function inWindow(when: PriceWindow, atMs: number): boolean {
  if (when.kind === 'from') return atMs >= when.startMs;
  const sec = (((atMs % 86_400_000) + 86_400_000) % 86_400_000) / 1000;
  // A window whose end is before its start runs over midnight.
  return when.endSec < when.startSec
    ? sec >= when.startSec || sec < when.endSec
    : sec >= when.startSec && sec < when.endSec;
}

/**
 * The index of the variant of a catalogue entry in force at `atMs`: the latest listed one whose
 * window holds, else the first, as the catalogue itself reads its price history.
 */
export function variantIndexAt(entry: CatalogueEntry, atMs: number): number {
  for (let i = entry.variants.length - 1; i >= 0; i--) {
    const when = entry.variants[i]?.when;
    if (when === null || (when !== undefined && inWindow(when, atMs))) return i;
  }
  return 0;
}

/** The rates of a catalogue entry in force at `atMs` (`null`: not priced per token then). */
export function ratesAt(entry: CatalogueEntry, atMs: number): ModelRates | null {
  return entry.variants[variantIndexAt(entry, atMs)]?.rates ?? null;
}

const DATE_COMPACT = /-(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g;

function isFineTuneId(id: string): boolean {
  return id.startsWith('ft:') || id.includes('.ft-');
}

/** The bundled catalogue, indexed once per provider on first use. */
export class Catalogue {
  readonly #providers = new Map<string, ProviderIndex | null>();
  readonly #hints = new Map<string, ProviderIndex | null>();

  #provider(id: string): ProviderIndex | null {
    let index = this.#providers.get(id);
    if (index === undefined) {
      const provider = findProvider({ providerId: id });
      index = provider && provider.id === id ? indexProvider(provider) : null;
      this.#providers.set(id, index);
    }
    return index;
  }

  #hinted(hint: string): ProviderIndex | null {
    let index = this.#hints.get(hint);
    if (index === undefined) {
      // The package maps hints such as `bedrock`, `vertex` or `xai` to its provider ids.
      const provider = findProvider({ providerId: hint });
      index = provider ? this.#provider(provider.id) : null;
      this.#hints.set(hint, index);
    }
    return index;
  }

  #candidates(lowerName: string, hint: string | undefined): ProviderIndex[] {
    const out: ProviderIndex[] = [];
    const add = (index: ProviderIndex | null): void => {
      if (index && !out.includes(index)) out.push(index);
    };
    const hinted = hint ? this.#hinted(hint.toLowerCase()) : null;
    add(hinted);
    for (const id of hinted?.fallbacks ?? []) add(this.#provider(id));
    for (const id of PROVIDER_IDS) {
      const index = this.#provider(id);
      if (index?.modelMatch?.(lowerName)) add(index);
    }
    return out;
  }

  // An entry priced only in other units (pages, seconds) is passed over, so a look-up can
  // still find a per-token price elsewhere.
  #accepts(slot: Slot | undefined, kind: LookupKind): slot is Slot {
    if (slot === undefined) return false;
    if (kind === 'fine_tune' && !isFineTuneId(slot.info.id)) return false;
    return this.#entry(slot).variants.some((v) => v.rates !== null);
  }

  #find(index: ProviderIndex, lowerName: string, kind: LookupKind): Slot | undefined {
    const hit = index.exact.get(lowerName);
    if (this.#accepts(hit, kind)) return hit;
    for (const rule of index.rules) {
      if (rule.test(lowerName) && this.#accepts(rule.slot, kind)) return rule.slot;
    }
    return undefined;
  }

  #entry(slot: Slot): CatalogueEntry {
    slot.built ??= buildEntry(slot);
    return slot.built;
  }

  /**
   * The catalogue entry for a model name, trying the hinted provider (and the providers it
   * resells) first, then every provider whose naming the model fits; `selectBy` picks the
   * providers when the name itself does not show them (a fine-tune's base model).
   */
  lookup(
    name: string,
    hint?: string,
    kind: LookupKind = 'any',
    selectBy: string = name,
  ): CatalogueEntry | null {
    const lower = name.trim().toLowerCase();
    // The catalogue writes some snapshots with dashed dates (`...-2025-08-07`).
    const dashed = lower.replace(DATE_COMPACT, '-$1-$2-$3');

    for (const index of this.#candidates(selectBy.trim().toLowerCase(), hint)) {
      let slot = this.#find(index, lower, kind);
      if (!slot && dashed !== lower) slot = this.#find(index, dashed, kind);
      if (slot) return this.#entry(slot);
    }
    return null;
  }

  /** Every provider id of the bundled data, in the data's order. */
  providerIds(): readonly string[] {
    return PROVIDER_IDS;
  }
}

let shared: Catalogue | undefined;

/** The process-wide catalogue instance, so its indexes are built once. */
export function bundledCatalogue(): Catalogue {
  shared ??= new Catalogue();
  return shared;
}
