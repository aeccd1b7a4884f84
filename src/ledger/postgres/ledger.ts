import type pg from 'pg';
import { pgDriver } from '../../lazy/drivers.js';
import type { Logger } from '../../log/logger.js';
import type {
  Ledger,
  LedgerHealth,
  RequestPage,
  RowFilter,
  SpendBucketRow,
  SpendQuery,
  SpendRow,
} from '../ledger.js';
import type { LedgerRow } from '../row.js';
import {
  asLedgerError,
  asMisconfigured,
  isTimeout,
  isUnavailable,
  ledgerAddress,
  LedgerUnavailable,
  type LedgerAddress,
} from './errors.js';
import { PostgresEventLog, PostgresKillSwitches } from './events.js';
import { migrate } from './migrations.js';
import * as reads from './reads.js';
import { querySpend, type RunQuery } from './spend.js';
import { Spool } from './spool.js';
import { SpoolingWriter } from './spooling-writer.js';
import { pgValues } from './text.js';
import { writeBatch } from './writer.js';

export type PostgresLedgerOptions = {
  /** `postgres://user@host:port/db`. */
  url: string;
  logger: Logger;
  /**
   * Folder of the local spool that keeps rows while the database is out; null for a ledger
   * that only reads (the CLI), which then keeps unwritten rows in memory.
   */
  spoolDir: string | null;
  /** Rows (and events) per batch. @default 500 */
  batchSize?: number;
  /** Flush at least this often while rows are queued. @default 50 */
  flushIntervalMs?: number;
  /** How often a database that is out is tried again. @default 1000 */
  retryMs?: number;
  /** How long to wait for a connection before calling the database out. @default 2000 */
  connectTimeoutMs?: number;
  /** How long one statement may take before its connection is given up. @default 30000 */
  queryTimeoutMs?: number;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
};

/**
 * The ledger in PostgreSQL, shared by replicas. Rows are appended without waiting and written
 * in batches off the request path; while the database is out they go to a local spool (fsync'd
 * per batch) and are written back, in order, once it answers again. Reads fail fast with a
 * `store_unavailable` error during an outage instead of hanging.
 */
export class PostgresLedger implements Ledger {
  readonly events: PostgresEventLog;
  readonly killSwitches: PostgresKillSwitches;
  readonly pool: pg.Pool;
  private readonly logger: Logger;
  /** Host, port, user and database for error messages; never the password. */
  private readonly address: LedgerAddress;
  private readonly writer: SpoolingWriter;
  private closing: Promise<void> | null = null;
  private schema: Promise<void> | null = null;
  private migrated = false;
  /** Every read and admin write goes through {@link read}. */
  private readonly run: RunQuery = (sql, values) => this.read(sql, values);

  constructor(opts: PostgresLedgerOptions) {
    this.logger = opts.logger;
    this.address = ledgerAddress(opts.url);
    // First: a spool folder in use by another gateway stops the start before any connection.
    const spool = opts.spoolDir === null ? null : new Spool(opts.spoolDir, opts.logger);
    this.pool = new (pgDriver().Pool)({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 2_000,
      // The server cancels a statement past the limit; the client gives up a little later, in
      // case the server cannot even answer that.
      statement_timeout: opts.queryTimeoutMs ?? 30_000,
      query_timeout: (opts.queryTimeoutMs ?? 30_000) + 1_000,
      idleTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: 'spendgate',
    });
    // A connection lost while it is handed over (the server's ready message and its
    // termination notice in one read) is emitted on the client before checkOut can listen:
    // every client keeps a listener for its whole life, so no such event ends the process.
    // The query in flight still fails, and the client is dropped when it is released.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    // An idle connection the server drops (a restart) is reported here; the next query
    // opens a new one. Without a listener the error would end the process.
    this.pool.on('error', (err) =>
      this.logger.debug(
        { event: 'ledger.connection_lost', err: err.message },
        'idle ledger connection lost',
      ),
    );
    this.writer = new SpoolingWriter(
      {
        write: async (items) => {
          await this.ensureSchema();
          await writeBatch(this.pool, items);
        },
        probe: async () => {
          await this.ensureSchema();
          await this.pool.query('SELECT 1');
        },
        needsProbe: () => !this.migrated,
      },
      {
        logger: opts.logger,
        spool,
        batchSize: opts.batchSize ?? 500,
        flushIntervalMs: opts.flushIntervalMs ?? 50,
        retryMs: opts.retryMs ?? 1_000,
      },
    );
    this.events = new PostgresEventLog(this.run, (event) => this.writer.enqueue({ event }));
    this.killSwitches = new PostgresKillSwitches(this.run);
  }

  append(row: LedgerRow): void {
    this.writer.enqueue({ row });
  }

  pending(): number {
    return this.writer.pending();
  }

  health(): LedgerHealth {
    return this.writer.health();
  }

  /** Resolves once every item appended before the call is in the database or the spool. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Writes what it can, keeps the rest in the spool, and ends the pool; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.writer.close().finally(() => this.pool.end());
    return this.closing;
  }

  scanRows(
    filter: RowFilter,
    after: { ts: number; id: string } | null,
    limit: number,
  ): Promise<LedgerRow[]> {
    return reads.scanRows(this.run, filter, after, limit);
  }

  queryRequests(filter: RowFilter, limit: number, cursor?: string | null): Promise<RequestPage> {
    return reads.queryRequests(this.run, filter, limit, cursor);
  }

  spendRows(fromMs: number, opts: { served?: boolean } = {}): AsyncIterable<SpendRow> {
    return reads.spendRows(this.run, fromMs, opts);
  }

  querySpend(query: SpendQuery): Promise<SpendBucketRow[]> {
    return querySpend(this.run, query);
  }

  /** The same query read from the raw rows only, to check the rollups against them. */
  querySpendRaw(query: SpendQuery): Promise<SpendBucketRow[]> {
    return querySpend(this.run, query, true);
  }

  /**
   * Runs one statement for a read or an admin write. During a known outage it fails at once;
   * otherwise a connection that cannot be had within the connect timeout fails it.
   */
  private async read(sql: string, values: unknown[]): Promise<pg.QueryResult> {
    if (this.closing) throw new Error('the ledger is closed');
    if (this.writer.isDown()) throw new LedgerUnavailable();
    try {
      await this.ensureSchema();
      // Filter values and kill switches are client text too: stored and looked up alike.
      return await this.pool.query(sql, pgValues(values));
    } catch (err) {
      // A read that was too slow says nothing about the connection: only a lost one makes
      // later reads fail at once (the writer probes until the database answers).
      if (isUnavailable(err) && !isTimeout(err)) this.writer.reportOutage(err);
      throw asMisconfigured(err, this.address) ?? asLedgerError(err);
    }
  }

  /** Applies the migrations once; a failed attempt is tried again by the next caller. */
  private ensureSchema(): Promise<void> {
    if (this.migrated) return Promise.resolve();
    this.schema ??= migrate(this.pool).then(
      (applied) => {
        this.migrated = true;
        if (applied.length > 0) {
          this.logger.info(
            { event: 'ledger.migrated', versions: applied },
            'ledger schema migrated',
          );
        }
      },
      (err: unknown) => {
        this.schema = null;
        // A missing database or a refused password said in words, for the log and the CLI.
        throw asMisconfigured(err, this.address) ?? err;
      },
    );
    return this.schema;
  }
}
