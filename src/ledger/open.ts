import { isAbsolute, resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import type { Ledger } from './ledger.js';
import { openSqliteLedger } from './sqlite.js';

/**
 * Opens the ledger the config names: `sqlite:<path>` (relative to the config file's folder) or
 * `sqlite::memory:`. A PostgreSQL URL is refused with a clear message in this version.
 */
export function openLedger(spec: string, opts: { baseDir: string; logger: Logger }): Ledger {
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === ':memory:') return openSqliteLedger({ path, logger: opts.logger });
    return openSqliteLedger({
      path: isAbsolute(path) ? path : resolve(opts.baseDir, path),
      logger: opts.logger,
    });
  }
  if (/^postgres(ql)?:/.test(spec)) {
    throw new Error(
      'storage.ledger: PostgreSQL ledgers are not available in this version; use sqlite:<file>',
    );
  }
  throw new Error(`storage.ledger: "${spec}" is not a ledger URL (write sqlite:./spendgate.db)`);
}
