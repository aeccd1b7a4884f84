/**
 * The shared stores of the replicas bench: a redis-server of the bench's own (so `INFO
 * commandstats` counts only the gateways' calls), stopped by its PID, and a database of its own
 * on the machine's PostgreSQL, dropped at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestDatabase } from '../../test/support/postgres.js';
import type { BenchChild } from './children.js';
import { cpuMicros } from './proc.js';

const READY_TIMEOUT_MS = 10_000;

/** A redis-server the bench started, and a connection of its own to read its statistics. */
export type BenchRedis = BenchChild & { port: number; admin: Redis; dir: string };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function readyLine(proc: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`redis-server not ready: ${seen}`)),
      READY_TIMEOUT_MS,
    );
    proc.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (!seen.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${seen}`));
    });
  });
}

/** Starts `redis-server` on a free port of 127.0.0.1 with no persistence. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const proc = spawn('redis-server', [...args, '--dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await readyLine(proc);
  // Drained so a chatty server can never block on a full pipe.
  proc.stdout?.resume();
  const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
  return { name: 'redis', pid: proc.pid ?? 0, proc, port, admin, dir };
}

/**
 * Calls per command since the server started, from `INFO commandstats`. The bench's own INFO
 * calls are left out: only the gateways' traffic is counted.
 */
export async function commandCalls(redis: BenchRedis): Promise<Map<string, number>> {
  const text = await redis.admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const [, name, count] = match;
    if (name !== 'info') calls.set(name as string, Number(count));
  }
  return calls;
}

/**
 * The commands the counter store's Lua scripts call. Redis counts those in `commandstats` as
 * well (and in `total_commands_processed`), so they are read from the scripts' source and told
 * apart from the round trips: during the timed phases every other command the gateways send
 * (EVALSHA, EVAL, a PING while Redis is down) is one request/answer on the wire.
 */
export function commandsInsideScripts(): Set<string> {
  const source = readFileSync(
    fileURLToPath(new URL('../../src/store/redis-scripts.ts', import.meta.url)),
    'utf8',
  );
  return new Set([...source.matchAll(/redis\.call\('([A-Z]+)'/g)].map((m) => m[1]!.toLowerCase()));
}

/** What each command was called between two readings, largest first. */
export function callsBetween(
  before: Map<string, number>,
  after: Map<string, number>,
): [string, number][] {
  const delta: [string, number][] = [];
  for (const [name, count] of after) {
    const added = count - (before.get(name) ?? 0);
    if (added > 0) delta.push([name, added]);
  }
  return delta.sort((a, b) => b[1] - a[1]);
}

/** A database of the bench's own on the shared PostgreSQL. */
export type BenchDatabase = { url: string; name: string; client: pg.Client; drop(): Promise<void> };

/** Creates `sg_bench_<random>` (dropped by `drop`) and connects to it (to count rows). */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const database = await createTestDatabase('sg_bench');
  const client = new pg.Client({ connectionString: database.url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  return {
    url: database.url,
    name: database.name,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      await database.drop();
    },
  };
}

/** Rows in the ledger table, 0 before the first gateway has migrated. */
export async function ledgerRowCount(db: BenchDatabase): Promise<number> {
  const exists = await db.client.query<{ found: string | null }>(
    "SELECT to_regclass('spendgate_requests') AS found",
  );
  if (exists.rows[0]?.found === null) return 0;
  const { rows } = await db.client.query<{ n: string }>(
    'SELECT COUNT(*) AS n FROM spendgate_requests',
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * CPU used so far by each server process working for the gateways' connections to the bench's
 * database, by PID (the bench's own connection left out). They are children of PostgreSQL, not
 * of the bench, so they are found through `pg_stat_activity`.
 */
export async function postgresBackendCpu(db: BenchDatabase): Promise<Map<number, number>> {
  const { rows } = await db.client.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [db.name],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, cpuMicros(pid));
    } catch {
      // The connection closed between the query and the read.
    }
  }
  return cpu;
}

/** CPU the backends used between two readings; a backend that ended meanwhile is not seen. */
export function backendCpuBetween(before: Map<number, number>, after: Map<number, number>) {
  let used = 0;
  for (const [pid, micros] of after) used += micros - (before.get(pid) ?? 0);
  return used;
}

/** Waits until the ledger holds `count` rows; resolves to the milliseconds that took. */
export async function rowsLanded(db: BenchDatabase, count: number): Promise<number> {
  const started = performance.now();
  const until = started + READY_TIMEOUT_MS;
  while ((await ledgerRowCount(db)) < count) {
    if (performance.now() > until) throw new Error(`the ledger did not reach ${count} rows`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

/** Closes the statistics connection; the process itself is stopped by PID with the others. */
export function closeBenchRedis(redis: BenchRedis): void {
  redis.admin.disconnect();
  rmSync(redis.dir, { recursive: true, force: true });
}
