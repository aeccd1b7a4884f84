import { isAbsolute, resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import type { Ledger } from './ledger.js';
import { ledgerUrlProblem } from './ledger-url.js';
import { PostgresLedger } from './postgres/ledger.js';
import { openSqliteLedger } from './sqlite.js';

export type OpenLedgerOptions = {
  /** The config file's folder: relative paths are resolved against it. */
  baseDir: string;
  logger: Logger;
  /**
   * `storage.spool_dir`, where a database ledger keeps rows during an outage; null for a
   * ledger that only reads (CLI commands), which must not take the running gateway's spool.
   */
  spoolDir: string | null;
};

/**
 * Opens the ledger the config names: `sqlite:<path>` (relative to the config file's folder),
 * `sqlite::memory:`, or `postgres://user@host:port/db` (also `postgresql://`). A PostgreSQL
 * ledger connects and migrates in the background: the gateway starts while its database is
 * out, and spools rows until it answers.
 */
export function openLedger(spec: string, opts: OpenLedgerOptions): Ledger {
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === ':memory:') return openSqliteLedger({ path, logger: opts.logger });
    return openSqliteLedger({ path: inside(opts.baseDir, path), logger: opts.logger });
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    return new PostgresLedger({
      url: spec,
      logger: opts.logger,
      spoolDir: opts.spoolDir === null ? null : inside(opts.baseDir, opts.spoolDir),
    });
  }
  throw new Error(`storage.ledger: ${ledgerUrlProblem(spec) ?? 'not a ledger URL'}`);
}

function inside(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}
