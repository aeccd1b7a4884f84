import { RawJson } from '../api/json.js';
import type { LedgerRow } from '../ledger/row.js';
import { picoToDecimal, type Pico } from '../money/money.js';
import { costBreakdown, type CostPart, type TokenClass } from '../pricing/cost.js';
import type { Pricer } from '../pricing/pricer.js';
import { emptyUsage } from '../providers/types.js';
import { batchLines, csvLine, type RowSource } from './csv.js';
import { FOCUS_COLUMNS, providerNames, type ProviderNames } from './focus-columns.js';

/** The per-class parts of a row's cost, or null when its model has no price any more. */
export type Breakdown = (row: LedgerRow) => readonly CostPart[] | null;

/** The time bucket of a FOCUS charge. */
export type FocusBucket = 'hour' | 'day';

/** Options of {@link rowsToFocus}. */
export type FocusOptions = {
  /** Re-derives a row's per-class costs; see {@link pricerBreakdown}. */
  breakdown: Breakdown;
  /** @default 'hour' */
  bucket?: FocusBucket;
  /** Provider display names by ledger provider id. @default PROVIDER_NAMES */
  providers?: Readonly<Record<string, ProviderNames>>;
};

/** What a FOCUS export read and wrote; final once its chunks have been consumed. */
export type FocusStats = {
  rowsRead: number;
  /** Charge rows written. */
  charges: number;
  /** Rows with a null cost: not charges, since their price is unknown. */
  skippedUnpriced: number;
  /** Rows with a zero cost (rejected requests among them): nothing was charged. */
  skippedZeroCost: number;
  /** Rows older than a bucket already written; they open the bucket again (totals stay exact). */
  lateRows: number;
  /** The sum of BilledCost over the written rows, equal to the ledger total of the rows read. */
  billedPico: Pico;
};

/** A FOCUS export: its CSV chunks and the running figures of what it wrote. */
export type FocusExport = AsyncIterable<string> & { readonly stats: FocusStats };

/** A token class, or `total` for a cost whose model no longer has prices to split it by. */
export type ChargeClass = TokenClass | 'total';

const MICRO = 1_000_000n;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
// PricingQuantity is in millions of tokens ("1000000 Tokens", FOCUS UnitFormat's
// `<unit-quantity> <plural-units>`), so ListUnitPrice is the USD-per-million price as published.
const PRICING_UNIT = '1000000 Tokens';
const SEP = '\u0001';

const CLASS_LABELS: Readonly<Record<ChargeClass, string>> = {
  input: 'input tokens',
  cached_input: 'cached input tokens',
  cache_write: 'cache write tokens',
  cache_write_1h: 'cache write tokens (1 hour)',
  input_audio: 'audio input tokens',
  input_image: 'image input tokens',
  output: 'output tokens',
  reasoning: 'reasoning tokens',
  output_audio: 'audio output tokens',
  output_image: 'image output tokens',
  total: 'tokens (no current per-class price)',
};

/** A breakdown through the pricer, at the price in force at the row's time. */
export function pricerBreakdown(pricer: Pricer): Breakdown {
  return (row) => {
    const rates = pricer.resolve(
      row.resolvedModel ?? row.model,
      row.provider,
      row.timestampMs,
    ).rates;
    if (!rates) return null;
    const usage = {
      ...emptyUsage(),
      inputTokens: row.inputTokens,
      cachedInputTokens: row.cachedInputTokens,
      cacheWriteTokens: row.cacheWriteTokens,
      outputTokens: row.outputTokens,
      reasoningTokens: row.reasoningTokens,
    };
    return costBreakdown(usage, rates);
  };
}

/** `value / 10^digits` as a plain decimal without trailing zeros. */
export function scaledDecimal(value: bigint, digits: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const text = abs.toString().padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  const fraction = text.slice(text.length - digits).replace(/0+$/, '');
  const out = fraction ? `${whole}.${fraction}` : whole;
  return negative ? `-${out}` : out;
}

type Charge = {
  cls: ChargeClass;
  /** Pico-dollars per million tokens; null for a `total` charge. */
  unitPrice: Pico | null;
  tokens: number;
  /** Σ tokens × unit price, in pico × 1e6: the list cost, exact. */
  listMicro: bigint;
  /** The ledger's cost of the parts, in pico × 1e6 (see `addRow`). */
  billedMicro: bigint;
  requests: number;
};

/** Every charge of one attribution and model within a bucket; its costs round together. */
type Group = { row: LedgerRow; tagsJson: string; charges: Map<string, Charge> };

type Bucket = { startMs: number; groups: Map<string, Group> };

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function isoSeconds(ms: number): string {
  // FOCUS Date/Time format: ISO 8601 in UTC with a `Z`, to the second.
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function monthBounds(ms: number): [string, string] {
  const d = new Date(ms);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return [isoSeconds(start), isoSeconds(end)];
}

function sortedTags(tags: Record<string, string>): [string, string][] {
  return Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Streams ledger rows as FOCUS 1.2 CSV, one row per charge: model × token class × unit price ×
 * time bucket × attribution (upstream, org, team, user, endpoint, tags), so chargeback per
 * tenant is a sum over rows. Rows should come in time order: a bucket is written and dropped
 * when the first row of a later bucket arrives, which keeps memory to one bucket's charges.
 *
 * Money, exactly:
 * - ListCost = ContractedCost = PricingQuantity × ListUnitPrice, with no rounding: the quantity
 *   has at most 6 decimals (tokens / 1e6) and the price at most 12 (pico-dollars), so the
 *   product is an exact decimal of at most 18 digits.
 * - BilledCost = EffectiveCost is the ledger's cost. A request's parts are unrounded; their
 *   sum rounds to the stored cost, and any difference (the rounding, or a price changed since
 *   the row was written) is put on the request's largest part, so the parts sum to the stored
 *   cost exactly. Parts are summed per charge unrounded, then the charges of one group (same
 *   bucket, attribution and model, which every part of a request shares) are rounded to whole
 *   pico-dollars by largest remainder: each takes the floor, and the pico-dollars the floors
 *   leave short go to the largest fractions. A group's exact sum is whole pico-dollars, so the
 *   rounded charges sum to it exactly, and so do the totals per bucket, tenant and model.
 * - BilledCost therefore differs from ListCost by under one pico-dollar per request on a row,
 *   plus any repricing: FOCUS's own identity is ListCost = ListUnitPrice × PricingQuantity.
 */
export function rowsToFocus(rows: RowSource<LedgerRow>, options: FocusOptions): FocusExport {
  const stats: FocusStats = {
    rowsRead: 0,
    charges: 0,
    skippedUnpriced: 0,
    skippedZeroCost: 0,
    lateRows: 0,
    billedPico: 0n,
  };
  const bucketMs = options.bucket === 'day' ? DAY_MS : HOUR_MS;
  const names = new Map<string, ProviderNames>();
  const nameOf = (id: string): ProviderNames => {
    let found = names.get(id);
    if (!found) names.set(id, (found = providerNames(id, options.providers)));
    return found;
  };

  function* flush(bucket: Bucket): Iterable<string> {
    const periodStart = isoSeconds(bucket.startMs);
    const periodEnd = isoSeconds(bucket.startMs + bucketMs);
    const [billingStart, billingEnd] = monthBounds(bucket.startMs);
    for (const group of bucket.groups.values()) {
      const charges = [...group.charges.values()];
      const billed = roundGroup(charges);
      const row = group.row;
      const who = nameOf(row.provider);
      const model = row.resolvedModel ?? row.model;
      for (let i = 0; i < charges.length; i++) {
        const c = charges[i]!;
        const pico = billed[i]!;
        stats.charges++;
        stats.billedPico += pico;
        const billedCost = new RawJson(picoToDecimal(pico));
        const unitPrice = c.unitPrice === null ? null : new RawJson(picoToDecimal(c.unitPrice));
        const listCost =
          c.unitPrice === null ? billedCost : new RawJson(scaledDecimal(c.listMicro, 18));
        yield csvLine([
          billedCost,
          row.upstream,
          row.upstream,
          'USD',
          billingEnd,
          billingStart,
          'Usage',
          null,
          `${model} ${CLASS_LABELS[c.cls]}`,
          periodEnd,
          periodStart,
          listCost,
          billedCost,
          who.invoiceIssuer,
          listCost,
          new RawJson(scaledDecimal(BigInt(c.tokens), 6)),
          PRICING_UNIT,
          who.provider,
          who.publisher,
          'AI and Machine Learning',
          who.service,
          'Usage-Based',
          c.tokens,
          'Tokens',
          unitPrice,
          unitPrice,
          'Generative AI',
          row.org,
          row.org,
          group.tagsJson,
          row.org,
          row.team,
          row.user,
          row.endpoint,
          row.model,
          row.resolvedModel,
          c.cls,
          c.requests,
        ]);
      }
    }
  }

  function addRow(bucket: Bucket, row: LedgerRow, costPico: Pico): void {
    const tags = sortedTags(row.tags);
    const tagsKey = JSON.stringify(tags);
    const groupKey = [row.upstream, row.provider, row.org, row.team, row.user, row.endpoint]
      .concat([row.model, row.resolvedModel ?? '', tagsKey])
      .join(SEP);
    let group = bucket.groups.get(groupKey);
    if (!group) {
      // Attribution keys are written after the row's tags, so a tag cannot mask them.
      const object: Record<string, string> = Object.fromEntries(tags);
      object.org = row.org;
      object.team = row.team;
      object.user = row.user;
      object.endpoint = row.endpoint;
      group = { row, tagsJson: JSON.stringify(object), charges: new Map() };
      bucket.groups.set(groupKey, group);
    }

    const parts = options.breakdown(row) ?? [];
    const target = costPico * MICRO;
    let sum = 0n;
    let largest = -1;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      sum += part.costMicroPico;
      if (largest < 0 || part.costMicroPico > parts[largest]!.costMicroPico) largest = i;
    }

    if (largest < 0) {
      const tokens = row.inputTokens + row.outputTokens;
      addPart(group, 'total', null, tokens, target, target);
      return;
    }
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const billed = i === largest ? p.costMicroPico + target - sum : p.costMicroPico;
      addPart(group, p.class, p.unitPricePicoPerMtok, p.tokens, p.costMicroPico, billed);
    }
  }

  async function* lines(): AsyncIterable<string> {
    let current: Bucket | null = null;
    let newestStart = -Infinity;
    for await (const row of rows) {
      stats.rowsRead++;
      if (row.costPico === null) {
        stats.skippedUnpriced++;
        continue;
      }
      if (row.costPico === 0n) {
        stats.skippedZeroCost++;
        continue;
      }
      const startMs = Math.floor(row.timestampMs / bucketMs) * bucketMs;
      if (!current || current.startMs !== startMs) {
        if (current) yield* flush(current);
        if (startMs < newestStart) stats.lateRows++;
        newestStart = Math.max(newestStart, startMs);
        current = { startMs, groups: new Map() };
      }
      addRow(current, row, row.costPico);
    }
    if (current) yield* flush(current);
  }

  const chunks = batchLines(lines(), csvLine(FOCUS_COLUMNS));
  return { stats, [Symbol.asyncIterator]: () => chunks[Symbol.asyncIterator]() };
}

function addPart(
  group: Group,
  cls: ChargeClass,
  unitPrice: Pico | null,
  tokens: number,
  listMicro: bigint,
  billedMicro: bigint,
): void {
  const key = `${cls}${SEP}${unitPrice ?? ''}`;
  const charge = group.charges.get(key);
  if (charge) {
    charge.tokens += tokens;
    charge.listMicro += listMicro;
    charge.billedMicro += billedMicro;
    charge.requests++;
    return;
  }
  group.charges.set(key, { cls, unitPrice, tokens, listMicro, billedMicro, requests: 1 });
}

/** Whole pico-dollars per charge by largest remainder; they sum to the group's exact total. */
function roundGroup(charges: readonly Charge[]): Pico[] {
  let total = 0n;
  const floors: Pico[] = [];
  for (const c of charges) {
    total += c.billedMicro;
    floors.push(floorDiv(c.billedMicro, MICRO));
  }

  let short = floorDiv(total, MICRO) - floors.reduce((a, b) => a + b, 0n);
  if (short > 0n) {
    const order = charges
      .map((c, i) => ({ i, rest: c.billedMicro - floors[i]! * MICRO }))
      .sort((a, b) => (a.rest === b.rest ? a.i - b.i : a.rest > b.rest ? -1 : 1));
    for (const { i } of order) {
      if (short === 0n) break;
      floors[i]! += 1n;
      short--;
    }
  }
  return floors;
}
