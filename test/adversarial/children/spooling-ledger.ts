/**
 * A process that writes ledger rows as fast as it can until it is killed, for the SIGKILL
 * tests: `node --import tsx spooling-ledger.ts <postgres url> <spool dir>`. After each flush it
 * prints `durable <n>`: rows `k-0` .. `k-<n-1>` are then committed or fsync'd in the spool.
 * Each row `k-i` costs i + 1 pico-dollars, so the parent can check sums exactly.
 */
import { silentLogger } from '../../../src/log/logger.js';
import { PostgresLedger } from '../../../src/ledger/postgres/ledger.js';
import { ledgerRow } from '../../support/rows.js';

const [url, spoolDir] = process.argv.slice(2);
if (!url || !spoolDir) throw new Error('usage: spooling-ledger.ts <url> <spool dir>');

const ledger = new PostgresLedger({
  url,
  spoolDir,
  logger: silentLogger(),
  retryMs: 50,
  flushIntervalMs: 5,
  connectTimeoutMs: 500,
});

// The ledger's timers are unref'd (a gateway's server keeps it alive): hold the process open.
setInterval(() => undefined, 60_000);

let next = 0;
for (;;) {
  for (let k = 0; k < 25; k++) {
    ledger.append(ledgerRow(`k-${next}`, 3_600_000 + next, { costPico: BigInt(next + 1) }));
    next++;
  }
  await ledger.flush();
  process.stdout.write(`durable ${next}\n`);
}
