import type { RequestPage, RowFilter, SpendRow } from '../ledger.js';
import { decodeCursor, encodeCursor, spendRowOf } from '../pages.js';
import type { LedgerRow } from '../row.js';
import type { RunQuery } from './spend.js';
import { filterConditions, Params, REQUESTS, rowOf, whereSql } from './sql.js';

/**
 * The PostgreSQL ledger's row reads, with the SQLite ledger's meaning: keyset pages oldest
 * first (exports), newest first by cursor (`GET /requests`), budget rows in admission order,
 * and exact grouped sums.
 */

/** Rows a `spendRows` page reads at a time. */
const SPEND_PAGE_ROWS = 5_000;

export async function scanRows(
  run: RunQuery,
  filter: RowFilter,
  after: { ts: number; id: string } | null,
  limit: number,
): Promise<LedgerRow[]> {
  const params = new Params();
  const where = filterConditions(filter, params);
  if (after) {
    const ts = params.add(after.ts);
    where.push(`(ts > ${ts} OR (ts = ${ts} AND request_id > ${params.add(after.id)}))`);
  }
  const sql = `SELECT * FROM ${REQUESTS} ${whereSql(where)}
    ORDER BY ts, request_id LIMIT ${params.add(limit)}`;
  return (await run(sql, params.values)).rows.map(rowOf);
}

export async function queryRequests(
  run: RunQuery,
  filter: RowFilter,
  limit: number,
  cursor?: string | null,
): Promise<RequestPage> {
  const params = new Params();
  const where = filterConditions(filter, params);
  const before = cursor ? decodeCursor(cursor) : null;
  if (before) {
    const ts = params.add(before.ts);
    where.push(`(ts < ${ts} OR (ts = ${ts} AND request_id < ${params.add(before.id)}))`);
  }
  const sql = `SELECT * FROM ${REQUESTS} ${whereSql(where)}
    ORDER BY ts DESC, request_id DESC LIMIT ${params.add(limit + 1)}`;

  const records = (await run(sql, params.values)).rows;
  const rows = records.slice(0, limit).map(rowOf);
  const last = rows[rows.length - 1];
  const nextCursor =
    records.length > limit && last ? encodeCursor(last.timestampMs, last.requestId) : null;
  return { rows, nextCursor };
}

export async function* spendRows(
  run: RunQuery,
  fromMs: number,
  opts: { served?: boolean } = {},
): AsyncIterable<SpendRow> {
  const which = opts.served ? "decision <> 'reject'" : 'cost_pico > 0';
  let after = { ts: fromMs - 1, id: '' };
  for (;;) {
    const { rows } = await run(
      `SELECT request_id, org, team, "user", endpoint, model, provider, key_id, tags,
              cost_pico, ts, input_tokens + output_tokens AS tokens
       FROM ${REQUESTS}
       WHERE ts >= $1 AND ${which} AND (ts > $2 OR (ts = $2 AND request_id > $3))
       ORDER BY ts, request_id LIMIT ${SPEND_PAGE_ROWS}`,
      [fromMs, after.ts, after.id],
    );
    for (const r of rows) yield spendRowOf(r as Record<string, unknown>);
    const last = rows[rows.length - 1] as { ts: string; request_id: string } | undefined;
    if (rows.length < SPEND_PAGE_ROWS || !last) return;
    after = { ts: Number(last.ts), id: last.request_id };
  }
}
