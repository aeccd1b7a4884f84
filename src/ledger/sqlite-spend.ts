import type Database from 'better-sqlite3';
import { bucketStart, HOUR_MS, MINUTE_MS, slicesFitBuckets, type Granularity } from './buckets.js';
import { FILTER_COLUMNS, type GroupKey, type SpendBucketRow, type SpendQuery } from './ledger.js';
import { ROLLUPS, type Rollup } from './sqlite-rollups.js';

/** Where a spend query reads: a rollup, or the raw rows grouped into slices of `grainMs`. */
export type SpendPlan = { rollup: Rollup | null; grainMs: number };

// Raw slices tried when a granularity's buckets do not fall on whole hours (Asia/Kolkata days).
const RAW_GRAINS = [HOUR_MS, 30 * MINUTE_MS, 15 * MINUTE_MS, MINUTE_MS, 1_000, 1];
const MAX_CACHED_STATEMENTS = 256;

type Range = { fromMs: number | undefined; toMs: number | undefined };

/** Answers spend queries from the rollups when they can answer exactly, else from raw rows. */
export class SqliteSpendQuery {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly bounds: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.bounds = db.prepare('SELECT MIN(ts) AS lo, MAX(ts) AS hi FROM requests');
  }

  /** Runs a query; `forceRaw` reads the raw rows whatever the rollups could do (for tests). */
  query(query: SpendQuery, forceRaw = false): SpendBucketRow[] {
    const tz = query.tz ?? 'UTC';
    const range = intersect(query);
    const plan = this.plan(query, range, tz, forceRaw);
    if (!plan) return [];

    const { sql, params } = spendSql(query, range, plan);
    const records = this.statement(sql).all(params) as Record<string, unknown>[];

    const rows = query.granularity
      ? regroup(records, query.groupBy, query.granularity, tz)
      : records.map((r) => toRow(r, query.groupBy));
    return rows.sort(byCostThenBucket);
  }

  /** The source a query reads; null when there is nothing to read. */
  plan(query: SpendQuery, range: Range, tz: string, forceRaw = false): SpendPlan | null {
    const granularity = query.granularity;
    let lo = range.fromMs;
    let hi = range.toMs;
    if (granularity && (lo === undefined || hi === undefined)) {
      const b = this.bounds.get() as { lo: number | null; hi: number | null };
      if (b.lo === null || b.hi === null) return null;
      lo ??= b.lo;
      hi ??= b.hi + 1;
    }
    if (lo !== undefined && hi !== undefined && lo >= hi) return null;

    const needed = neededColumns(query);
    const fits = (grainMs: number): boolean =>
      !granularity || slicesFitBuckets(lo as number, hi as number, grainMs, granularity, tz);
    if (!forceRaw) {
      for (const rollup of ROLLUPS) {
        if (!needed.every((c) => rollup.columns.includes(c))) continue;
        if (!onGrain(range.fromMs, rollup.grainMs) || !onGrain(range.toMs, rollup.grainMs))
          continue;
        if (fits(rollup.grainMs)) return { rollup, grainMs: rollup.grainMs };
      }
    }
    if (!granularity) return { rollup: null, grainMs: 1 };
    const grains = granularity === 'minute' ? RAW_GRAINS.slice(3) : RAW_GRAINS;
    return { rollup: null, grainMs: grains.find(fits) ?? 1 };
  }

  private statement(sql: string): Database.Statement {
    let found = this.statements.get(sql);
    if (!found) {
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      found = this.db.prepare(sql).safeIntegers(true);
      this.statements.set(sql, found);
    }
    return found;
  }
}

function intersect(query: SpendQuery): Range {
  const froms = [query.fromMs, query.filter.fromMs].filter((v) => v !== undefined);
  const tos = [query.toMs, query.filter.toMs].filter((v) => v !== undefined);
  return {
    fromMs: froms.length ? Math.max(...froms) : undefined,
    toMs: tos.length ? Math.min(...tos) : undefined,
  };
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

function tagPath(name: string): string {
  return `$."${name.replace(/"/g, '')}"`;
}

function spendSql(
  query: SpendQuery,
  range: Range,
  plan: SpendPlan,
): { sql: string; params: Record<string, unknown> } {
  const raw = plan.rollup === null;
  const time = raw ? 'ts' : 'bucket_ms';
  const params: Record<string, unknown> = {};
  const select: string[] = [];
  if (query.granularity) {
    select.push(
      raw && plan.grainMs > 1 ? `(ts / ${plan.grainMs}) * ${plan.grainMs} AS b` : `${time} AS b`,
    );
  }
  query.groupBy.forEach((key, i) => {
    if (key.startsWith('tag:')) {
      params[`gtag${i}`] = tagPath(key.slice(4));
      select.push(`json_extract(tags, @gtag${i}) AS g${i}`);
    } else if (key === 'key') {
      select.push(`${raw ? 'key_id' : "NULLIF(key_id, '')"} AS g${i}`);
    } else {
      select.push(`${key} AS g${i}`);
    }
  });
  select.push(
    raw ? 'SUM(COALESCE(cost_pico, 0)) AS cost' : 'SUM(cost_pico) AS cost',
    raw ? 'COUNT(*) AS n' : 'SUM(requests) AS n',
    'SUM(input_tokens) AS input',
    'SUM(output_tokens) AS output',
    'SUM(cached_input_tokens) AS cached',
  );

  const where: string[] = [];
  for (const name of FILTER_COLUMNS) {
    const value = query.filter[name];
    if (value === undefined) continue;
    where.push(`${name === 'key' ? 'key_id' : name} = @f_${name}`);
    params[`f_${name}`] = value;
  }
  Object.entries(query.filter.tags ?? {}).forEach(([name, value], i) => {
    where.push(`json_extract(tags, @ftag${i}) = @fval${i}`);
    params[`ftag${i}`] = tagPath(name);
    params[`fval${i}`] = value;
  });
  if (range.fromMs !== undefined) {
    where.push(`${time} >= @from_ms`);
    params.from_ms = range.fromMs;
  }
  if (range.toMs !== undefined) {
    where.push(`${time} < @to_ms`);
    params.to_ms = range.toMs;
  }

  const groups = [...(query.granularity ? ['b'] : []), ...query.groupBy.map((_, i) => `g${i}`)];
  const sql = `SELECT ${select.join(', ')} FROM ${plan.rollup?.table ?? 'requests'}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ${groups.length ? `GROUP BY ${groups.join(', ')}` : ''}`;
  return { sql, params };
}

function toRow(r: Record<string, unknown>, groupBy: readonly GroupKey[]): SpendBucketRow {
  const values: Record<string, string | null> = {};
  groupBy.forEach((key, i) => {
    const value = r[`g${i}`];
    values[key] = value === null || value === undefined ? null : String(value);
  });
  return {
    values,
    costPico: (r.cost as bigint | null) ?? 0n,
    requests: Number(r.n ?? 0),
    inputTokens: Number(r.input ?? 0),
    outputTokens: Number(r.output ?? 0),
    cachedInputTokens: Number(r.cached ?? 0),
  };
}

/** Sums slices into the query's buckets; a slice lies in one bucket (the plan checked it). */
function regroup(
  records: Record<string, unknown>[],
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
      id += value === null ? '\u0000\u0001' : `\u0000${String(value)}`;
    }
    const into = merged.get(id);
    if (!into) {
      merged.set(id, { ...toRow(record, groupBy), bucketStartMs: start });
      continue;
    }
    into.costPico += (record.cost as bigint | null) ?? 0n;
    into.requests += Number(record.n ?? 0);
    into.inputTokens += Number(record.input ?? 0);
    into.outputTokens += Number(record.output ?? 0);
    into.cachedInputTokens += Number(record.cached ?? 0);
  }
  return [...merged.values()];
}

function byCostThenBucket(a: SpendBucketRow, b: SpendBucketRow): number {
  if (a.costPico !== b.costPico) return a.costPico > b.costPico ? -1 : 1;
  const bucket = (a.bucketStartMs ?? 0) - (b.bucketStartMs ?? 0);
  if (bucket !== 0) return bucket;
  const left = JSON.stringify(a.values);
  const right = JSON.stringify(b.values);
  return left < right ? -1 : left > right ? 1 : 0;
}
