import { dirname, resolve } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import type { GatewayConfig } from '../config/prepare.js';
import type { Ledger } from '../ledger/ledger.js';
import { openLedger } from '../ledger/open.js';
import { silentLogger } from '../log/logger.js';
import { parseDuration } from '../config/duration.js';
import { UsageError } from './args.js';

/**
 * Opens the ledger a config names, for commands that read it while the gateway may be running
 * (SQLite in WAL mode lets readers and the gateway's writer work side by side; PostgreSQL is
 * shared anyway). It takes no spool: that belongs to the running gateway.
 */
export function openConfiguredLedger(configFile: string): {
  config: GatewayConfig;
  ledger: Ledger;
} {
  const config = loadConfigFile(configFile);
  const ledger = openLedger(config.raw.storage.ledger, {
    baseDir: dirname(resolve(configFile)),
    logger: silentLogger(),
    spoolDir: null,
  });
  return { config, ledger };
}

/** `--since 7d` as a start time before `nowMs`; throws a readable error for bad input. */
export function sinceToMs(since: string, nowMs: number): number {
  const ms = parseDuration(since);
  if (ms === null) throw new UsageError(`--since: not a duration: ${since} (write 24h, 7d, 30d)`);
  return nowMs - ms;
}

/** Left- or right-aligned columns for a terminal table. */
export function formatTable(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
