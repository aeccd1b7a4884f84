import { bucketStart, HOUR_MS, MINUTE_MS, slicesFitBuckets, type Granularity } from './buckets.js';
import { FILTER_COLUMNS, type GroupKey, type SpendBucketRow, type SpendQuery } from './ledger.js';
import { ROLLUPS, UNPRICED_SQL, type Rollup } from './rollups.js';

/**
 * The parts of a spend query every ledger shares: which table answers it exactly, and how the
 * slices it reads become the query's buckets. Pure; the ledgers only run the SQL.
 */

/** Where a spend query reads: a rollup, or the raw rows grouped into slices of `grainMs`. */
export type SpendPlan = { rollup: Rollup | null; grainMs: number };

/** The query's time range: its own bounds intersected with its filter's. */
export type Range = { fromMs: number | undefined; toMs: number | undefined };

/** The first and last admission time in the ledger (null when it is empty). */
export type Bounds = { lo: number | null; hi: number | null };

// Raw slices tried when a granularity's buckets do not fall on whole hours (Asia/Kolkata days).
const RAW_GRAINS = [HOUR_MS, 30 * MINUTE_MS, 15 * MINUTE_MS, MINUTE_MS, 1_000, 1];

export function intersect(query: SpendQuery): Range {
  const froms = [query.fromMs, query.filter.fromMs].filter((v) => v !== undefined);
  const tos = [query.toMs, query.filter.toMs].filter((v) => v !== undefined);
  return {
    fromMs: froms.length ? Math.max(...froms) : undefined,
    toMs: tos.length ? Math.min(...tos) : undefined,
  };
}

/** Whether planning needs the ledger's bounds: a bucketed query with an open end. */
export function needsBounds(query: SpendQuery, range: Range): boolean {
  return (
    query.granularity !== undefined && (range.fromMs === undefined || range.toMs === undefined)
  );
}

/**
 * The source a query reads; null when there is nothing to read. `bounds` is required when
 * {@link needsBounds} says so.
 */
export function planSpend(
  query: SpendQuery,
  range: Range,
  tz: string,
  bounds: Bounds | undefined,
  forceRaw = false,
): SpendPlan | null {
  const granularity = query.granularity;
  let lo = range.fromMs;
  let hi = range.toMs;
  if (granularity && (lo === undefined || hi === undefined)) {
    if (!bounds || bounds.lo === null || bounds.hi === null) return null;
    lo ??= bounds.lo;
    hi ??= bounds.hi + 1;
  }
  if (lo !== undefined && hi !== undefined && lo >= hi) return null;

  const needed = neededColumns(query);
  const fits = (grainMs: number): boolean =>
    !granularity || slicesFitBuckets(lo as number, hi as number, grainMs, granularity, tz);
  if (!forceRaw) {
    for (const rollup of ROLLUPS) {
      if (!needed.every((c) => rollup.columns.includes(c))) continue;
      if (!onGrain(range.fromMs, rollup.grainMs) || !onGrain(range.toMs, rollup.grainMs)) continue;
      if (fits(rollup.grainMs)) return { rollup, grainMs: rollup.grainMs };
    }
  }
  if (!granularity) return { rollup: null, grainMs: 1 };
  const grains = granularity === 'minute' ? RAW_GRAINS.slice(3) : RAW_GRAINS;
  return { rollup: null, grainMs: grains.find(fits) ?? 1 };
}

function onGrain(ms: number | undefined, grainMs: number): boolean {
  return ms === undefined || ms % grainMs === 0;
}

function column(key: GroupKey): string {
  if (key.startsWith('tag:')) return 'tags';
  return key === 'key' ? 'key_id' : key;
}

function neededColumns(query: SpendQuery): string[] {
  const needed = query.groupBy.map(column);
  for (const name of FILTER_COLUMNS) if (query.filter[name] !== undefined) needed.push(name);
  if (query.filter.tags && Object.keys(query.filter.tags).length > 0) needed.push('tags');
  return needed;
}

/**
 * The sums a spend query selects, named as {@link SpendRecord} reads them: from the raw rows
 * (`raw`) or from a rollup's sums. The SQL is the same in SQLite and PostgreSQL.
 */
export function sumSelects(raw: boolean): string[] {
  return [
    raw ? 'SUM(COALESCE(cost_pico, 0)) AS cost' : 'SUM(cost_pico) AS cost',
    raw ? 'COUNT(*) AS n' : 'SUM(requests) AS n',
    'SUM(input_tokens) AS input',
    'SUM(output_tokens) AS output',
    'SUM(cached_input_tokens) AS cached',
    raw
      ? `SUM(CASE WHEN ${UNPRICED_SQL} THEN 1 ELSE 0 END) AS unpriced`
      : 'SUM(unpriced_requests) AS unpriced',
  ];
}

/**
 * A record a spend query's SQL returns: `b` (the slice), `g0`… (group values), and the sums
 * `cost`, `n`, `input`, `output`, `cached`, `unpriced` as bigint, number or decimal text.
 */
export type SpendRecord = Record<string, unknown>;

function count(value: unknown): number {
  return Number(value ?? 0);
}

function pico(value: unknown): bigint {
  return value === null || value === undefined ? 0n : BigInt(value as bigint | string | number);
}

/** One record as a spend row, without a bucket. */
export function toSpendRow(r: SpendRecord, groupBy: readonly GroupKey[]): SpendBucketRow {
  const values: Record<string, string | null> = {};
  groupBy.forEach((key, i) => {
    const value = r[`g${i}`];
    values[key] = value === null || value === undefined ? null : String(value);
  });
  return {
    values,
    costPico: pico(r.cost),
    requests: count(r.n),
    inputTokens: count(r.input),
    outputTokens: count(r.output),
    cachedInputTokens: count(r.cached),
    unpricedRequests: count(r.unpriced),
  };
}

/** Sums slices into the query's buckets; a slice lies in one bucket (the plan checked it). */
export function regroup(
  records: SpendRecord[],
  groupBy: readonly GroupKey[],
  granularity: Granularity,
  tz: string,
): SpendBucketRow[] {
  const starts = new Map<number, number>();
  const merged = new Map<string, SpendBucketRow>();
  for (const record of records) {
    const slice = Number(record.b);
    let start = starts.get(slice);
    if (start === undefined) {
      start = bucketStart(slice, granularity, tz);
      starts.set(slice, start);
    }
    let id = String(start);
    for (let i = 0; i < groupBy.length; i++) {
      const value = record[`g${i}`];
      // \u0001 marks a null, so a missing tag never merges with a real value.
      id += value === null || value === undefined ? '\u0000\u0001' : `\u0000${String(value)}`;
    }
    const into = merged.get(id);
    if (!into) {
      merged.set(id, { ...toSpendRow(record, groupBy), bucketStartMs: start });
      continue;
    }
    into.costPico += pico(record.cost);
    into.requests += count(record.n);
    into.inputTokens += count(record.input);
    into.outputTokens += count(record.output);
    into.cachedInputTokens += count(record.cached);
    into.unpricedRequests += count(record.unpriced);
  }
  return [...merged.values()];
}

/** The answer of a query from its records: bucketed when it has a granularity, sorted. */
export function spendRows(records: SpendRecord[], query: SpendQuery, tz: string): SpendBucketRow[] {
  const rows = query.granularity
    ? regroup(records, query.groupBy, query.granularity, tz)
    : records.map((r) => toSpendRow(r, query.groupBy));
  return rows.sort(byCostThenBucket);
}

/** Highest cost first; ties by bucket, then by group values, so the order is stable. */
export function byCostThenBucket(a: SpendBucketRow, b: SpendBucketRow): number {
  if (a.costPico !== b.costPico) return a.costPico > b.costPico ? -1 : 1;
  const bucket = (a.bucketStartMs ?? 0) - (b.bucketStartMs ?? 0);
  if (bucket !== 0) return bucket;
  const left = JSON.stringify(a.values);
  const right = JSON.stringify(b.values);
  return left < right ? -1 : left > right ? 1 : 0;
}
