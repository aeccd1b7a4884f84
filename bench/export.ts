/**
 * Export benchmark: a 1 million-row ledger exported as CSV (and FOCUS) through the same code as
 * `GET /api/v1/export`, to a sink that only counts bytes. Prints rows/s and the peak RSS growth
 * over the idle process (target: under 50 MB). `node --expose-gc --import tsx bench/export.ts`;
 * BENCH_ROWS overrides the row count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exportChunks, ledgerRows, type ExportFormat } from '../src/export/index.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';
import { silentLogger } from '../src/log/logger.js';
import { createPricer, pricingSchema } from '../src/pricing/index.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ledgerRow } from '../test/support/rows.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const START = Date.parse('2026-11-01T00:00:00Z');
const MB = 1024 * 1024;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function rssMb(): number {
  return process.memoryUsage().rss / MB;
}

async function exportOnce(
  format: ExportFormat,
  ledger: ReturnType<typeof openSqliteLedger>,
): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const idle = rssMb();
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb());
  }, 20);

  const started = performance.now();
  let bytes = 0;
  const pricer = createPricer(
    pricingSchema.parse({
      models: {
        'gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 },
      },
    }),
  );
  for await (const chunk of exportChunks(format, ledgerRows(ledger, {}), { pricer })) {
    bytes += Buffer.byteLength(chunk);
    peak = Math.max(peak, rssMb());
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);

  say(
    `${format.padEnd(5)}  ${String(Math.round(ROWS / seconds)).padStart(8)} rows/s  ` +
      `${(bytes / MB).toFixed(0).padStart(5)} MB written  idle RSS ${idle.toFixed(0)} MB  ` +
      `peak ${peak.toFixed(0)} MB  growth ${(peak - idle).toFixed(1)} MB`,
  );
}

/** The export half, in a process of its own so its idle RSS is not the loader's. */
async function exportOnly(file: string): Promise<void> {
  const ledger = openSqliteLedger({ path: file, logger: silentLogger() });
  await exportOnce('csv', ledger);
  await exportOnce('focus', ledger);
  await ledger.close();
}

async function main(): Promise<void> {
  const only = process.env.BENCH_EXPORT_DB;
  if (only) return exportOnly(only);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  say(`Spendgate export benchmark — ${new Date().toISOString()}`);
  say(
    `machine: ${cpu}, ${cpus().length} cores, Node ${process.version}; ${ROWS.toLocaleString('en-US')} ledger rows`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'spendgate-export-bench-'));
  try {
    const ledger = openSqliteLedger({
      path: join(dir, 'ledger.db'),
      logger: silentLogger(),
      batchSize: 1_000_000,
    });
    const loadStart = performance.now();
    for (let i = 0; i < ROWS; i++) {
      ledger.append(
        ledgerRow(`req-${String(i).padStart(8, '0')}`, START + i * 2_000, {
          org: `org-${i % 200}`,
          team: `team-${i % 2_000}`,
          user: `user-${(i * 7_919) % 50_000}`,
          endpoint: `/svc-${i % 300}/v1/chat/completions`,
          inputTokens: 200 + (i % 4_000),
          cachedInputTokens: i % 3 === 0 ? 128 : 0,
          outputTokens: i % 900,
          costPico: BigInt(1_000_000 + (i % 7_777_777)),
          tags: { env: i % 5 === 0 ? 'dev' : 'prod' },
        }),
      );
      if (i % 5_000 === 4_999) await ledger.flush();
    }
    await ledger.flush();
    say(`loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
    await ledger.close();

    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url)],
      {
        env: { ...process.env, BENCH_EXPORT_DB: join(dir, 'ledger.db') },
        stdio: 'inherit',
      },
    );
    if (child.status !== 0) throw new Error(`export run failed (${child.status})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
