import type pg from 'pg';
import type { GatewayEvent } from '../../events/event.js';
import type { LedgerRow } from '../row.js';
import { deltaSums, RollupDeltas, SUMS, type Delta, type Rollup } from '../rollups.js';
import { checkOut } from './checkout.js';
import { insertEventsSql } from './events.js';
import { ident, rollupTable } from './migrations.js';
import { Params, REQUEST_COLUMNS, REQUESTS, rowValues, valuesSql } from './sql.js';
import type { LedgerItem } from './spool.js';
import { pgEvent, pgRow } from './text.js';

// PostgreSQL takes at most 65,535 parameters a statement; rows have 29 columns.
const ROWS_PER_INSERT = 1_000;
const DELTAS_PER_UPSERT = 2_000;

const INSERT_COLUMNS = REQUEST_COLUMNS.map(ident).join(', ');

/**
 * Writes one batch in one transaction: the new rows, their rollup sums and the events. Rows are
 * idempotent by request id (`ON CONFLICT DO NOTHING`) and only the rows the insert returns are
 * added to the rollups, so a replayed or duplicated row is never counted twice. Resolves to the
 * number of rows that were new.
 */
export async function writeBatch(pool: pg.Pool, items: readonly LedgerItem[]): Promise<number> {
  const rows = uniqueRows(items);
  const events = items.flatMap((item) => ('event' in item ? [pgEvent(item.event)] : []));
  if (rows.length === 0 && events.length === 0) return 0;

  const client = await checkOut(pool);
  let failed: Error | undefined;
  try {
    await client.query('BEGIN');
    const deltas = new RollupDeltas();
    let inserted = 0;
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      inserted += await insertRows(client, rows.slice(i, i + ROWS_PER_INSERT), deltas);
    }
    for (const { rollup, deltas: sums } of deltas.entries(true)) {
      for (let i = 0; i < sums.length; i += DELTAS_PER_UPSERT) {
        await upsertRollup(client, rollup, sums.slice(i, i + DELTAS_PER_UPSERT));
      }
    }
    if (events.length > 0) await insertEvents(client, events);
    await client.query('COMMIT');
    return inserted;
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A client that failed mid-transaction is dropped, not handed to the next batch.
    client.done(failed);
  }
}

/**
 * The batch's rows, the first of each request id only (as SQLite's INSERT OR IGNORE keeps),
 * made storable first: the rollup sums must group the values the database will hold.
 */
function uniqueRows(items: readonly LedgerItem[]): LedgerRow[] {
  const seen = new Set<string>();
  const rows: LedgerRow[] = [];
  for (const item of items) {
    if (!('row' in item)) continue;
    const row = pgRow(item.row);
    if (seen.has(row.requestId)) continue;
    seen.add(row.requestId);
    rows.push(row);
  }
  return rows;
}

async function insertRows(
  client: pg.PoolClient,
  rows: readonly LedgerRow[],
  deltas: RollupDeltas,
): Promise<number> {
  const tags = rows.map((row) => JSON.stringify(row.tags));
  const params = new Params();
  const values = valuesSql(
    rows.map((row, i) => rowValues(row, tags[i] as string)),
    params,
  );
  const result = await client.query<{ request_id: string }>(
    `INSERT INTO ${REQUESTS} (${INSERT_COLUMNS}) VALUES ${values}
     ON CONFLICT (request_id) DO NOTHING RETURNING request_id`,
    params.values,
  );
  const fresh = new Set(result.rows.map((r) => r.request_id));
  rows.forEach((row, i) => {
    if (fresh.has(row.requestId)) deltas.add(row, tags[i] as string);
  });
  return fresh.size;
}

async function upsertRollup(
  client: pg.PoolClient,
  rollup: Rollup,
  sums: readonly Delta[],
): Promise<void> {
  const table = rollupTable(rollup);
  const columns = ['bucket_ms', ...rollup.columns, ...SUMS].map(ident).join(', ');
  const params = new Params();
  const values = valuesSql(
    sums.map((d) => [...d.values, ...deltaSums(d)]),
    params,
  );
  const add = SUMS.map((c) => `${c} = ${table}.${c} + EXCLUDED.${c}`).join(', ');
  await client.query(
    `INSERT INTO ${table} (${columns}) VALUES ${values}
     ON CONFLICT (bucket_ms, group_key) DO UPDATE SET ${add}`,
    params.values,
  );
}

async function insertEvents(client: pg.PoolClient, events: readonly GatewayEvent[]): Promise<void> {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  for (let i = 0; i < unique.length; i += ROWS_PER_INSERT) {
    const params = new Params();
    await client.query(
      insertEventsSql(unique.slice(i, i + ROWS_PER_INSERT), params),
      params.values,
    );
  }
}
