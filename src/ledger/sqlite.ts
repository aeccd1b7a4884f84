import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log/logger.js';
import {
  FILTER_COLUMNS,
  type Ledger,
  type LedgerHealth,
  type RequestPage,
  type RowFilter,
  type SpendBucketRow,
  type SpendQuery,
  type SpendRow,
} from './ledger.js';
import type { LedgerRow } from './row.js';
import {
  EVENT_MIGRATIONS,
  EVENT_TYPE_INDEX_MIGRATION,
  SqliteEventLog,
  type PendingEvent,
  SqliteKillSwitches,
} from './sqlite-events.js';
import {
  REQUEST_COLUMN_COUNT,
  rowFromRecord,
  rowToParams,
  type RowRecord,
} from './sqlite-record.js';
import { isRowRefusal, rejectedFileOf, setAside } from './sqlite-refusals.js';
import { ROLLUP_MIGRATIONS, RollupWriter, UNPRICED_MIGRATION } from './sqlite-rollups.js';
import { UNPRICED_SQL } from './rollups.js';
import type { LedgerItem } from './postgres/spool.js';
import { SqliteSpendQuery } from './sqlite-spend.js';
import { decodeCursor, encodeCursor, spendRowOf } from './pages.js';

/** Versioned migrations (a version is a position, from 1); each runs once, in order, in a transaction. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE requests (
     request_id TEXT PRIMARY KEY,
     ts INTEGER NOT NULL,
     org TEXT NOT NULL, team TEXT NOT NULL, user TEXT NOT NULL, endpoint TEXT NOT NULL,
     provider TEXT NOT NULL, upstream TEXT NOT NULL, model TEXT NOT NULL,
     resolved_model TEXT, deployment TEXT,
     status INTEGER NOT NULL, decision TEXT NOT NULL, reason TEXT, streamed INTEGER NOT NULL,
     input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
     cache_write_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost_pico INTEGER,
     usage_source TEXT NOT NULL, price_source TEXT, flags TEXT NOT NULL,
     latency_ms INTEGER NOT NULL, tags TEXT NOT NULL, key_id TEXT,
     counted_input_tokens INTEGER NOT NULL, counted_output_tokens INTEGER NOT NULL
   ) STRICT`,
  `CREATE INDEX requests_ts ON requests (ts DESC, request_id DESC)`,
  `CREATE INDEX requests_org_ts ON requests (org, ts)`,
  ...EVENT_MIGRATIONS,
  ...ROLLUP_MIGRATIONS,
  // Versions are positions in this list: a new migration goes at the end, never between.
  EVENT_TYPE_INDEX_MIGRATION,
  UNPRICED_MIGRATION,
];

export type SqliteLedgerOptions = {
  /** File path, or `:memory:`. */
  path: string;
  logger: Logger;
  /**
   * Flush when this many rows are queued. Rows waiting in memory through two young-generation
   * collections are copied into V8's old generation, which then grows until a full collection:
   * at thousands of requests a second, batches of 500 grew the gateway's heap by about 4 MB/s
   * of dead rows. Batches of 100 are written before that happens, at about the same CPU per row.
   * @default 100
   */
  batchSize?: number;
  /** Flush at least this often while rows are queued. @default 50 */
  flushIntervalMs?: number;
};

/** Opens (and migrates) a SQLite ledger file; `sqlite:./spendgate.db` in the config. */
export function openSqliteLedger(opts: SqliteLedgerOptions): SqliteLedger {
  if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Writes touch the recent end of each B-tree (ids and times grow), so a small page cache keeps
  // them hot; queries read the rest through the OS's file cache. Measured here: inserts cost the
  // same CPU per row with 8 MiB as with 64 MiB, and spend queries over 1 million rows took the
  // same time, but with 64 MiB the process grew with the database (+89 MB at 200,000 rows,
  // against a flat +18 MB).
  db.pragma('cache_size = -8192');
  migrate(db);
  return new SqliteLedger(db, opts, opts.path === ':memory:' ? db : openReader(opts.path));
}

/**
 * Exports scan the whole ledger; they read through a connection of their own with a small
 * page cache, so a million-row export does not fill the writer's 64 MiB cache (WAL lets the
 * reader and the writer work side by side).
 */
function openReader(path: string): Database.Database {
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  reader.pragma('cache_size = -2048');
  return reader;
}

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  const done = new Set(
    db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[],
  );
  MIGRATIONS.forEach((sql, index) => {
    const version = index + 1;
    if (done.has(version)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        version,
        Date.now(),
      );
    })();
  });
}

/** The embedded ledger: one writer, batched inserts, idempotent by request id. */
export class SqliteLedger implements Ledger {
  readonly db: Database.Database;
  readonly events: SqliteEventLog;
  readonly killSwitches: SqliteKillSwitches;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private queue: LedgerRow[] = [];
  private eventWrites: PendingEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private readonly insert: Database.Statement;
  private readonly rollups: RollupWriter;
  private readonly spend: SqliteSpendQuery;
  private readonly writeBatch: (rows: LedgerRow[], events: PendingEvent[]) => void;
  /** Where refused rows and events are set aside; null for an in-memory ledger. */
  private readonly rejectedFile: string | null;

  constructor(
    db: Database.Database,
    opts: SqliteLedgerOptions,
    private readonly scanner: Database.Database = db,
  ) {
    this.db = db;
    this.logger = opts.logger;
    this.batchSize = opts.batchSize ?? 100;
    this.flushIntervalMs = opts.flushIntervalMs ?? 50;
    this.rejectedFile = rejectedFileOf(opts.path);
    // Positional parameters in the column order of the table: cheaper to bind than named ones.
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO requests VALUES (${placeholders(REQUEST_COLUMN_COUNT)})`,
    );
    this.rollups = new RollupWriter(db);
    this.spend = new SqliteSpendQuery(db);
    // Rollups change in the transaction of their raw rows, so they always agree with them; a
    // duplicate the insert ignores is not counted twice.
    this.writeBatch = db.transaction((rows: LedgerRow[], events: PendingEvent[]) => {
      for (const row of rows) {
        const tags = JSON.stringify(row.tags);
        if (this.insert.run(rowToParams(row, tags)).changes === 1) this.rollups.add(row, tags);
      }
      this.rollups.flush();
      for (const pending of events) pending.write();
    });
    this.events = new SqliteEventLog(db, (pending) => {
      this.eventWrites.push(pending);
      this.schedule(this.flushIntervalMs);
    });
    this.killSwitches = new SqliteKillSwitches(db);
  }

  append(row: LedgerRow): void {
    this.queue.push(row);
    if (this.queue.length >= this.batchSize) {
      // A full batch is written on the next turn of the event loop, never inside the request.
      this.schedule(0);
    } else {
      this.schedule(this.flushIntervalMs);
    }
  }

  pending(): number {
    return this.queue.length;
  }

  health(): LedgerHealth {
    return { state: 'ok', spooledRows: 0 };
  }

  async flush(): Promise<void> {
    this.writeQueued();
  }

  async close(): Promise<void> {
    this.writeQueued();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length > 0) {
      this.logger.error(
        { event: 'ledger.rows_unwritten', rows: this.queue.length },
        'ledger closed with rows it could not write',
      );
    }
    if (this.scanner !== this.db) this.scanner.close();
    this.db.close();
  }

  async scanRows(
    filter: RowFilter,
    after: { ts: number; id: string } | null,
    limit: number,
  ): Promise<LedgerRow[]> {
    const { where, params } = whereClause(filter);
    if (after) {
      where.push('(ts > @after_ts OR (ts = @after_ts AND request_id > @after_id))');
      params.after_ts = after.ts;
      params.after_id = after.id;
    }
    params.limit = limit;
    const sql = `SELECT * FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY ts, request_id LIMIT @limit`;
    return (this.scanner.prepare(sql).safeIntegers(true).all(params) as RowRecord[]).map(
      rowFromRecord,
    );
  }

  async queryRequests(
    filter: RowFilter,
    limit: number,
    cursor?: string | null,
  ): Promise<RequestPage> {
    const { where, params } = whereClause(filter);
    const after = cursor ? decodeCursor(cursor) : null;
    if (after) {
      where.push('(ts < @cursor_ts OR (ts = @cursor_ts AND request_id < @cursor_id))');
      params.cursor_ts = after.ts;
      params.cursor_id = after.id;
    }
    const sql = `SELECT * FROM requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY ts DESC, request_id DESC LIMIT @limit`;
    params.limit = limit + 1;

    const records = this.db.prepare(sql).safeIntegers(true).all(params) as RowRecord[];
    const rows = records.slice(0, limit).map(rowFromRecord);
    const last = rows[rows.length - 1];
    const nextCursor =
      records.length > limit && last ? encodeCursor(last.timestampMs, last.requestId) : null;
    return { rows, nextCursor };
  }

  async *spendRows(fromMs: number, opts: { served?: boolean } = {}): AsyncIterable<SpendRow> {
    const which = opts.served ? "decision != 'reject'" : 'cost_pico > 0';
    // Pages by a keyset cursor: an iterator left open across the consumer's awaits would keep
    // the connection busy, and the batch writer shares it.
    const page = this.db
      .prepare(
        `SELECT request_id, org, team, user, endpoint, model, provider, key_id, tags, cost_pico, ts,
                input_tokens + output_tokens AS tokens
         FROM requests
         WHERE ts >= @from AND ${which}
           AND (ts > @after_ts OR (ts = @after_ts AND request_id > @after_id))
         ORDER BY ts, request_id LIMIT ${SPEND_PAGE_ROWS}`,
      )
      .safeIntegers(true);
    let after = { after_ts: fromMs - 1, after_id: '' };
    for (;;) {
      const records = page.all({ from: fromMs, ...after }) as Record<string, unknown>[];
      for (const r of records) yield spendRowOf(r);
      const last = records[records.length - 1];
      if (records.length < SPEND_PAGE_ROWS || !last) return;
      after = { after_ts: Number(last.ts), after_id: last.request_id as string };
    }
  }

  async querySpend(query: SpendQuery): Promise<SpendBucketRow[]> {
    return this.spend.query(query);
  }

  /** The same query read from the raw rows only, to check the rollups against them. */
  async querySpendRaw(query: SpendQuery): Promise<SpendBucketRow[]> {
    return this.spend.query(query, true);
  }

  private schedule(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writeQueued();
    }, delayMs);
    this.timer.unref();
  }

  private writeQueued(): void {
    if (this.queue.length === 0 && this.eventWrites.length === 0) return;
    const batch = this.queue;
    const events = this.eventWrites;
    this.queue = [];
    this.eventWrites = [];
    let failure: { err: unknown; rows: LedgerRow[]; events: PendingEvent[] } | null = null;
    try {
      this.writeBatch(batch, events);
    } catch (err) {
      this.rollups.discard();
      // One row the database can never take (a cost past 64 bits) must not hold back every
      // row after it: the batch goes again one item at a time, and refused items are set aside.
      failure = isRowRefusal(err) ? this.writeApart(batch, events) : { err, rows: batch, events };
    }
    if (failure === null) {
      if (this.failing)
        this.logger.info({ event: 'ledger.flush_recovered' }, 'ledger writes succeed again');
      this.failing = false;
      return;
    }

    // The database itself failed (busy, I/O, a full disk): keep what is left, in order, for the
    // next attempt. A ledger row is never dropped.
    this.queue = failure.rows.concat(this.queue);
    this.eventWrites = failure.events.concat(this.eventWrites);
    if (!this.failing) {
      this.logger.error(
        {
          event: 'ledger.flush_failed',
          err: (failure.err as Error).message,
          rows: failure.rows.length,
        },
        'ledger write failed; retrying',
      );
    }
    this.failing = true;
    this.schedule(1_000);
  }

  /**
   * Writes a refused batch one item per transaction, in order, and sets aside each item the
   * database refuses. Stops writing at the first failure that is not a refusal; resolves to
   * what is left then (with that error), or null when nothing is.
   */
  private writeApart(
    rows: LedgerRow[],
    events: PendingEvent[],
  ): { err: unknown; rows: LedgerRow[]; events: PendingEvent[] } | null {
    const left: { err: unknown; rows: LedgerRow[]; events: PendingEvent[] } = {
      err: null,
      rows: [],
      events: [],
    };
    let outage = false;
    const tryOne = (write: () => void, item: LedgerItem): boolean => {
      if (outage) return false;
      try {
        write();
        return true;
      } catch (err) {
        this.rollups.discard();
        if (!isRowRefusal(err)) {
          outage = true;
          left.err = err;
          return false;
        }
        const unsaved = this.reject(item, err);
        // A refused item that cannot be set aside stays queued; the items after it go on.
        if (unsaved !== null) left.err ??= unsaved;
        return unsaved === null;
      }
    };
    for (const row of rows) {
      if (!tryOne(() => this.writeBatch([row], []), { row })) left.rows.push(row);
    }
    for (const pending of events) {
      if (!tryOne(() => this.writeBatch([], [pending]), { event: pending.event })) {
        left.events.push(pending);
      }
    }
    if (left.rows.length === 0 && left.events.length === 0) return null;
    return left;
  }

  /** Sets a refused item aside; the error when the file cannot be written (it stays queued). */
  private reject(item: LedgerItem, refusal: unknown): unknown {
    const reason = (refusal as Error).message;
    try {
      setAside(this.rejectedFile, item, reason);
    } catch (err) {
      if (!this.failing) {
        this.logger.error(
          { event: 'ledger.reject_failed', err: (err as Error).message, file: this.rejectedFile },
          'a refused ledger item could not be set aside; it stays queued and is tried again',
        );
      }
      return err;
    }
    this.logger.error(
      {
        event: 'ledger.row_rejected',
        err: reason,
        requestId: 'row' in item ? item.row.requestId : undefined,
        eventId: 'event' in item ? item.event.id : undefined,
        file: this.rejectedFile,
      },
      this.rejectedFile === null
        ? 'the ledger database refuses an item; an in-memory ledger cannot keep it'
        : 'the ledger database refuses an item; it was set aside in the rejected file',
    );
    return null;
  }
}

/** Rows a `spendRows` page reads at a time. */
const SPEND_PAGE_ROWS = 5_000;

function whereClause(filter: RowFilter): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  for (const column of FILTER_COLUMNS) {
    const value = filter[column];
    if (value !== undefined) {
      where.push(`${column === 'key' ? 'key_id' : column} = @${column}`);
      params[column] = value;
    }
  }
  for (const [i, [name, value]] of Object.entries(filter.tags ?? {}).entries()) {
    where.push(`json_extract(tags, @tag_path_${i}) = @tag_value_${i}`);
    params[`tag_path_${i}`] = `$."${name.replace(/"/g, '')}"`;
    params[`tag_value_${i}`] = value;
  }
  if (filter.fromMs !== undefined) {
    where.push('ts >= @from_ms');
    params.from_ms = filter.fromMs;
  }
  if (filter.toMs !== undefined) {
    where.push('ts < @to_ms');
    params.to_ms = filter.toMs;
  }
  return { where, params };
}

function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}
