/**
 * The dedicated insert phase of the replicas bench: rows appended straight to a PostgreSQL
 * ledger, through the same batched writer (rollups included) the gateway uses, to measure how
 * many rows per second one writer gets into the database when nothing else is in the way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresLedger } from '../../src/ledger/postgres/ledger.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { silentLogger } from '../../src/log/logger.js';

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'];
const APPEND_CHUNK = 5_000;

/** What the insert phase measured. */
export type InsertResult = { rows: number; seconds: number; rowsPerSec: number; writers: number };

// Spread like traffic of a few tenants over the last hour, so the rollups get a realistic mix of
// new and existing keys instead of one hot row.
function benchRow(writer: number, i: number, nowMs: number): LedgerRow {
  const user = (i * 7919) % 1_000;
  const inputTokens = 150 + (i % 900);
  const outputTokens = 20 + (i % 400);
  const model = MODELS[i % MODELS.length] as string;
  return {
    requestId: `insert-${writer}-${i}`,
    timestampMs: nowMs - (i % 3_600_000),
    org: `org-${user % 20}`,
    team: `team-${user % 100}`,
    user: `user-${user}`,
    endpoint: '/bench/v1/chat/completions',
    provider: model.startsWith('claude') ? 'anthropic' : 'openai',
    upstream: 'bench',
    model,
    resolvedModel: model,
    deployment: null,
    status: 200,
    decision: 'allow',
    reason: null,
    streamed: i % 3 === 0,
    inputTokens,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens,
    reasoningTokens: 0,
    costPico: BigInt(inputTokens * 2_500_000 + outputTokens * 10_000_000),
    usageSource: 'provider',
    priceSource: 'config',
    flags: [],
    latencyMs: 40,
    tags: { app: 'bench' },
    keyId: null,
    countedInputTokens: inputTokens,
    countedOutputTokens: outputTokens,
  };
}

async function fill(ledger: PostgresLedger, writer: number, rows: number, nowMs: number) {
  for (let i = 0; i < rows; i += 1) {
    ledger.append(benchRow(writer, i, nowMs));
    // Yield now and then so the writer's batches go out while rows keep coming, as they do
    // behind live traffic, instead of one queue drained at the end.
    if (i % APPEND_CHUNK === APPEND_CHUNK - 1) await new Promise((r) => setImmediate(r));
  }
  await ledger.flush();
}

/**
 * Writes `rows` rows per writer through `writers` ledgers at once (each its own pool, as each
 * replica has), and resolves when every row is committed.
 */
export async function insertPhase(url: string, rows: number, writers: number) {
  const dirs = Array.from({ length: writers }, () =>
    mkdtempSync(join(tmpdir(), 'spendgate-bench-spool-')),
  );
  const ledgers = dirs.map(
    (spoolDir) => new PostgresLedger({ url, logger: silentLogger(), spoolDir }),
  );
  try {
    // The schema is there already (the gateways migrated it); a read makes each pool connect
    // before the clock starts.
    await Promise.all(ledgers.map((l) => l.queryRequests({}, 1)));
    const nowMs = Date.now();
    const started = performance.now();
    await Promise.all(ledgers.map((l, w) => fill(l, w, rows, nowMs)));
    const seconds = (performance.now() - started) / 1000;
    const total = rows * writers;
    return { rows: total, seconds, rowsPerSec: total / seconds, writers } satisfies InsertResult;
  } finally {
    await Promise.all(ledgers.map((l) => l.close()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
