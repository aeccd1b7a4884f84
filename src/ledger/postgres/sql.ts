import { FILTER_COLUMNS, type RowFilter } from '../ledger.js';
import type { LedgerRow } from '../row.js';
import { rowFromRecord, rowToParams, type RowRecord } from '../sqlite-record.js';

/** The raw table of the PostgreSQL ledger. */
export const REQUESTS = 'spendgate_requests';

/** `requests`' columns in table order: the order of {@link rowValues}. */
export const REQUEST_COLUMNS = [
  'request_id',
  'ts',
  'org',
  'team',
  'user',
  'endpoint',
  'provider',
  'upstream',
  'model',
  'resolved_model',
  'deployment',
  'status',
  'decision',
  'reason',
  'streamed',
  'input_tokens',
  'cached_input_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'cost_pico',
  'usage_source',
  'price_source',
  'flags',
  'latency_ms',
  'tags',
  'key_id',
  'counted_input_tokens',
  'counted_output_tokens',
] as const;

const STREAMED = REQUEST_COLUMNS.indexOf('streamed');

/** A row's values in column order; `tags` as stored (JSON text, key order kept). */
export function rowValues(row: LedgerRow, tags: string): unknown[] {
  const values = rowToParams(row, tags);
  values[STREAMED] = row.streamed;
  return values;
}

/**
 * A stored record as a row. `pg` returns BIGINT columns as decimal text; the SQLite mapping
 * converts with `Number` and `BigInt`, which read that text exactly.
 */
export function rowOf(record: Record<string, unknown>): LedgerRow {
  return rowFromRecord(record as unknown as RowRecord);
}

/** Collects positional parameters: `add(v)` returns its `$n`. */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A tag's value in a JSON text column, `null` when the tag is missing. */
export function tagValue(column: string, name: string, params: Params): string {
  return `(${column}::json ->> ${params.add(name)}::text)`;
}

/** The WHERE conditions of a row filter over the raw rows. */
export function filterConditions(filter: RowFilter, params: Params): string[] {
  const where: string[] = [];
  for (const column of FILTER_COLUMNS) {
    const value = filter[column];
    if (value === undefined) continue;
    where.push(`${column === 'key' ? 'key_id' : `"${column}"`} = ${params.add(value)}`);
  }
  for (const [name, value] of Object.entries(filter.tags ?? {})) {
    where.push(`${tagValue('tags', name, params)} = ${params.add(value)}`);
  }
  if (filter.fromMs !== undefined) where.push(`ts >= ${params.add(filter.fromMs)}`);
  if (filter.toMs !== undefined) where.push(`ts < ${params.add(filter.toMs)}`);
  return where;
}

/** `WHERE a AND b`, or nothing. */
export function whereSql(conditions: string[]): string {
  return conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
}

/** `(v1, v2, …), (…)` for a multi-row insert, adding every value as a parameter. */
export function valuesSql(rows: readonly (readonly unknown[])[], params: Params): string {
  return rows.map((values) => `(${values.map((v) => params.add(v)).join(', ')})`).join(', ');
}
