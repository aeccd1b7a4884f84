import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledgerContract } from '../../test/support/ledger-contract.js';
import { createTestDatabase } from '../../test/support/postgres.js';
import { silentLogger } from '../log/logger.js';
import { PostgresLedger } from './postgres/ledger.js';
import { openSqliteLedger } from './sqlite.js';

ledgerContract('sqlite', async () => {
  const ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
  return { ledger, dispose: () => ledger.close() };
});

// A database of its own per ledger, on the shared server: CREATE DATABASE sg_test_<random>.
ledgerContract('postgres', async () => {
  const database = await createTestDatabase();
  const spoolDir = mkdtempSync(join(tmpdir(), 'spendgate-spool-'));
  const ledger = new PostgresLedger({ url: database.url, logger: silentLogger(), spoolDir });
  return {
    ledger,
    async dispose() {
      await ledger.close();
      await database.drop();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
});
