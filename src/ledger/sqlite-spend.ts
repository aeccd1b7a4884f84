import type Database from 'better-sqlite3';
import type { SpendBucketRow, SpendQuery } from './ledger.js';
import { FILTER_COLUMNS } from './ledger.js';
import {
  intersect,
  needsBounds,
  planSpend,
  spendRows,
  sumSelects,
  type Bounds,
  type Range,
  type SpendPlan,
} from './spend-plan.js';

export type { SpendPlan };

const MAX_CACHED_STATEMENTS = 256;

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
    return spendRows(records, query, tz);
  }

  /** The source a query reads; null when there is nothing to read. */
  plan(query: SpendQuery, range: Range, tz: string, forceRaw = false): SpendPlan | null {
    const bounds = needsBounds(query, range) ? (this.bounds.get() as Bounds) : undefined;
    return planSpend(query, range, tz, bounds, forceRaw);
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
  select.push(...sumSelects(raw));

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
