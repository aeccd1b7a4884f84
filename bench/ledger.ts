/**
 * Ledger benchmark: writes rows through the batched path (rollups included), then times the
 * spend queries the dashboard runs. `node --import tsx bench/ledger.ts`; BENCH_ROWS overrides
 * the row count (default 10 million).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SpendQuery } from '../src/ledger/ledger.js';
import type { LedgerRow } from '../src/ledger/row.js';
import { openSqliteLedger } from '../src/ledger/sqlite.js';
import { ROLLUPS } from '../src/ledger/sqlite-rollups.js';
import { silentLogger } from '../src/log/logger.js';
import { median } from './lib/stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const ORGS = 200;
const TEAMS = 2_000;
const USERS = 50_000;
const ENDPOINTS = 300;
const MODELS = Array.from({ length: 20 }, (_, i) => `model-${i}`);
const DAY = 86_400_000;
const START = Date.parse('2026-02-01T00:00:00Z');
const BATCH = 5_000;

let seed = 42;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}

// Users belong to teams and teams to orgs; each org owns one or two endpoints and uses three
// models, as tenants do; tags are an environment and the app behind the endpoint.
function makeRow(i: number): LedgerRow {
  const user = Math.floor(random() ** 2 * USERS);
  const team = user % TEAMS;
  const org = team % ORGS;
  const endpoint = org + (org < ENDPOINTS - ORGS && random() < 0.5 ? ORGS : 0);
  const model = MODELS[(org + Math.floor(random() * 3) * 7) % MODELS.length] as string;
  const roll = random();
  const inputTokens = 200 + Math.floor(random() * 4000);
  const outputTokens = Math.floor(random() * 900);
  return {
    requestId: `req-${i}`,
    timestampMs: START + Math.floor((i / ROWS) * 30 * DAY),
    org: `org-${org}`,
    team: `team-${team}`,
    user: `user-${user}`,
    endpoint: `/svc-${endpoint}/v1/chat`,
    provider: model < 'model-10' ? 'openai' : 'anthropic',
    upstream: model < 'model-10' ? 'openai' : 'anthropic',
    model,
    resolvedModel: model,
    deployment: null,
    status: roll < 0.01 ? 429 : 200,
    decision: roll < 0.01 ? 'reject' : roll < 0.04 ? 'warn' : 'allow',
    reason: roll < 0.01 ? 'budget_exceeded' : null,
    streamed: roll > 0.5,
    inputTokens,
    cachedInputTokens: Math.floor(inputTokens * random() * 0.3),
    cacheWriteTokens: 0,
    outputTokens,
    reasoningTokens: 0,
    costPico: roll < 0.01 ? 0n : BigInt(inputTokens * 2_500_000 + outputTokens * 10_000_000),
    usageSource: 'provider',
    priceSource: 'catalogue',
    flags: [],
    latencyMs: 120,
    tags: { env: random() < 0.9 ? 'prod' : 'staging', app: `app-${endpoint}` },
    keyId: `key-${user}`,
    countedInputTokens: inputTokens,
    countedOutputTokens: outputTokens,
  };
}

async function time(name: string, run: () => Promise<unknown[]>): Promise<void> {
  const runs: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    rows = (await run()).length;
    runs.push(performance.now() - started);
  }
  const all = runs.map((r) => r.toFixed(1)).join(', ');
  process.stdout.write(`${name}: median ${median(runs).toFixed(1)} ms (${all}); ${rows} rows\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-bench-ledger-'));
  const path = join(dir, 'ledger.db');
  try {
    process.stdout.write(
      `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, ` + `Node ${process.version}\n`,
    );
    const ledger = openSqliteLedger({ path, logger: silentLogger(), batchSize: BATCH * 2 });

    const started = performance.now();
    for (let i = 0; i < ROWS; i++) {
      ledger.append(makeRow(i));
      if ((i + 1) % BATCH === 0) await ledger.flush();
    }
    await ledger.flush();
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(ROWS / seconds);
    process.stdout.write(`inserted ${ROWS} rows in ${seconds.toFixed(1)} s: ${rate} rows/s\n`);
    for (const { table } of ROLLUPS) {
      const count = ledger.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
      process.stdout.write(`${table}: ${count} rows\n`);
    }
    ledger.db.pragma('wal_checkpoint(TRUNCATE)');
    process.stdout.write(`database: ${(statSync(path).size / 1e9).toFixed(2)} GB\n`);

    const month = { fromMs: START, toMs: START + 30 * DAY, filter: {} };
    const queries: [string, SpendQuery][] = [
      ['spend by org and model for 30 days', { groupBy: ['org', 'model'], ...month }],
      [
        'spend by endpoint per day for 30 days',
        { groupBy: ['endpoint'], granularity: 'day', ...month },
      ],
      [
        'spend by org per day for 30 days in Asia/Shanghai',
        { groupBy: ['org'], granularity: 'day', tz: 'Asia/Shanghai', ...month },
      ],
    ];
    for (const [name, query] of queries) await time(name, () => ledger.querySpend(query));
    await ledger.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
