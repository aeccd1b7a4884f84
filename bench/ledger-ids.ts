/**
 * What a row id's shape costs the SQLite ledger: rows written through the batched path with
 * random (UUID v4) ids against time-ordered (UUID v7) ones, CPU per row once the table holds
 * BENCH_ROWS rows (default 100,000). `node --import tsx bench/ledger-ids.ts`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeOrderedId } from '../src/ledger/ids.js';
import type { LedgerRow } from '../src/ledger/row.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';
import { silentLogger } from '../src/log/logger.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
// The gateway writes its queue every 50 ms: at a few thousand requests/s, batches of ~200.
const BATCH = 200;

function row(id: string, i: number): LedgerRow {
  return {
    requestId: id,
    timestampMs: Date.now(),
    org: 'acme',
    team: 'search',
    user: `user-${i % 50}`,
    endpoint: '/v1/chat/completions',
    provider: 'openai',
    upstream: 'openai',
    model: 'gpt-4o',
    resolvedModel: 'gpt-4o',
    deployment: null,
    status: 200,
    decision: 'allow',
    reason: null,
    streamed: false,
    inputTokens: 187,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 121,
    reasoningTokens: 0,
    costPico: 1_677_500_000n,
    usageSource: 'provider',
    priceSource: 'config',
    flags: [],
    latencyMs: 1.2,
    tags: { app: 'bench' },
    keyId: null,
    countedInputTokens: 187,
    countedOutputTokens: 120,
  };
}

async function cpuPerRow(kind: 'v4' | 'v7'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-ids-'));
  const ledger = openSqliteLedger({ path: join(dir, 'ledger.db'), logger: silentLogger() });
  const newId = kind === 'v4' ? () => randomUUID() : () => timeOrderedId(Date.now());
  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      ledger.append(row(newId(), i));
      if (i % BATCH === BATCH - 1) await ledger.flush();
    }
    await ledger.flush();
  };
  await write(ROWS); // the table as a running gateway has it
  const before = process.cpuUsage();
  await write(ROWS);
  const used = process.cpuUsage(before);
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
  return (used.user + used.system) / ROWS;
}

console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, Node ${process.version}`);
for (const kind of ['v4', 'v7', 'v4', 'v7'] as const) {
  const micros = await cpuPerRow(kind);
  console.log(`UUID ${kind}: ${micros.toFixed(1)} us CPU per row, rows ${ROWS}..${2 * ROWS}`);
}
