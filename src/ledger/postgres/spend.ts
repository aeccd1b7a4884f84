import type pg from 'pg';
import { FILTER_COLUMNS, type SpendBucketRow, type SpendQuery } from '../ledger.js';
import {
  intersect,
  needsBounds,
  planSpend,
  spendRows,
  sumSelects,
  type Bounds,
  type Range,
  type SpendPlan,
} from '../spend-plan.js';
import { rollupTable } from './migrations.js';
import { Params, REQUESTS, tagValue, whereSql } from './sql.js';

/** Runs one read statement; the ledger maps connection failures to a 503. */
export type RunQuery = (sql: string, values: unknown[]) => Promise<pg.QueryResult>;

/**
 * Spend queries over PostgreSQL: the same plan as SQLite (a rollup when it answers exactly, else
 * raw rows in slices), the same regrouping into zone buckets, exact NUMERIC sums.
 */
export async function querySpend(
  run: RunQuery,
  query: SpendQuery,
  forceRaw = false,
): Promise<SpendBucketRow[]> {
  const tz = query.tz ?? 'UTC';
  const range = intersect(query);
  const plan = await planQuery(run, query, range, tz, forceRaw);
  if (!plan) return [];

  const params = new Params();
  const sql = spendSql(query, range, plan, params);
  const { rows } = await run(sql, params.values);
  return spendRows(rows as Record<string, unknown>[], query, tz);
}

/** The source a query reads; null when there is nothing to read. */
export async function planQuery(
  run: RunQuery,
  query: SpendQuery,
  range: Range,
  tz: string,
  forceRaw = false,
): Promise<SpendPlan | null> {
  let bounds: Bounds | undefined;
  if (needsBounds(query, range)) {
    const { rows } = await run(`SELECT MIN(ts) AS lo, MAX(ts) AS hi FROM ${REQUESTS}`, []);
    const found = rows[0] as { lo: string | null; hi: string | null } | undefined;
    bounds = {
      lo: found?.lo == null ? null : Number(found.lo),
      hi: found?.hi == null ? null : Number(found.hi),
    };
  }
  return planSpend(query, range, tz, bounds, forceRaw);
}

function spendSql(query: SpendQuery, range: Range, plan: SpendPlan, params: Params): string {
  const raw = plan.rollup === null;
  const time = raw ? 'ts' : 'bucket_ms';
  const select: string[] = [];
  if (query.granularity) {
    select.push(
      raw && plan.grainMs > 1 ? `(ts / ${plan.grainMs}) * ${plan.grainMs} AS b` : `${time} AS b`,
    );
  }
  query.groupBy.forEach((key, i) => {
    if (key.startsWith('tag:')) select.push(`${tagValue('tags', key.slice(4), params)} AS g${i}`);
    else if (key === 'key') select.push(`${raw ? 'key_id' : "NULLIF(key_id, '')"} AS g${i}`);
    else select.push(`"${key}" AS g${i}`);
  });
  // NUMERIC sums: exact whatever the total, returned as decimal text.
  const sums = sumSelects(raw);
  const groups = select.length;
  select.push(...sums);

  const where: string[] = [];
  for (const name of FILTER_COLUMNS) {
    const value = query.filter[name];
    if (value === undefined) continue;
    where.push(`${name === 'key' ? 'key_id' : `"${name}"`} = ${params.add(value)}`);
  }
  for (const [name, value] of Object.entries(query.filter.tags ?? {})) {
    where.push(`${tagValue('tags', name, params)} = ${params.add(value)}`);
  }
  if (range.fromMs !== undefined) where.push(`${time} >= ${params.add(range.fromMs)}`);
  if (range.toMs !== undefined) where.push(`${time} < ${params.add(range.toMs)}`);

  // Grouped by position: a group expression holds parameters, which PostgreSQL would not
  // match between the select list and a repeated GROUP BY expression.
  const table = plan.rollup ? rollupTable(plan.rollup) : REQUESTS;
  return `SELECT ${select.join(', ')} FROM ${table} ${whereSql(where)}
    ${groups > 0 ? `GROUP BY ${Array.from({ length: groups }, (_, i) => i + 1).join(', ')}` : ''}`;
}
