import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { PostgresLedger } from '../../src/ledger/postgres/ledger.js';
import { createTestDatabase, freePort, type TestDatabase } from '../support/postgres.js';

// A ledger process killed with SIGKILL while it writes (to the spool during an outage, or to a
// database whose connections are cut mid-batch), then a new one started on the same spool
// folder: every row reported durable before the kill is stored exactly once, and the rollups
// agree with the raw rows. Row `k-i` costs i + 1 pico-dollars.
const CHILD = join(import.meta.dirname, 'children', 'spooling-ledger.ts');
const scratch = mkdtempSync(join(tmpdir(), 'spendgate-sigkill-'));
const databases: TestDatabase[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const db of databases) await db.drop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts the writer; `durable()` is the highest count it reported durable so far. */
function startWriter(url: string, spoolDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, spoolDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let durable = 0;
  let errors = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const m of chunk.toString().matchAll(/durable (\d+)/g)) durable = Number(m[1]);
  });
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    durable: () => durable,
    errors: () => errors,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Restarts on the spool folder with the database up, and checks what the database holds. */
async function expectEveryDurableRowOnce(url: string, spoolDir: string, durable: number) {
  const ledger = new PostgresLedger({ url, spoolDir, logger: silentLogger(), retryMs: 50 });
  try {
    await until(() => ledger.health().state === 'ok' && ledger.pending() === 0, 20_000);

    const ids = await query<{ request_id: string }>(
      url,
      'SELECT request_id FROM spendgate_requests',
    );
    const numbers = ids.map((r) => Number(r.request_id.slice(2))).sort((a, b) => a - b);
    const stored = numbers.length;
    // Rows k-0 .. k-(stored-1), none missing, none twice; at least every durable one.
    expect(stored).toBeGreaterThanOrEqual(durable);
    expect(numbers).toEqual(Array.from({ length: stored }, (_, i) => i));
    const total = BigInt((stored * (stored + 1)) / 2);
    const [raw] = await ledger.querySpendRaw({ groupBy: [], filter: {} });
    const [hourly] = await ledger.querySpend({ groupBy: ['org'], granularity: 'hour', filter: {} });
    expect(raw).toMatchObject({ costPico: total, requests: stored });
    expect(hourly).toMatchObject({ costPico: total, requests: stored });
  } finally {
    await ledger.close();
  }
}

describe('postgres ledger: SIGKILL while writing', () => {
  it('loses no durable row and counts none twice when killed while spooling', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const spoolDir = join(scratch, 'outage');
    const writer = startWriter(`postgres://postgres@127.0.0.1:${await freePort()}/x`, spoolDir);

    await until(() => writer.durable() >= 1_500, 30_000);
    await writer.kill();

    expect(writer.errors()).toBe('');
    await expectEveryDurableRowOnce(db.url, spoolDir, writer.durable());
  }, 60_000);

  it('loses no durable row and counts none twice when connections are cut mid-batch', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const spoolDir = join(scratch, 'cut');
    const writer = startWriter(db.url, spoolDir);
    const cut = () =>
      query(
        db.url,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'spendgate'`,
      );

    await until(() => writer.durable() >= 500, 30_000);
    for (let i = 0; i < 15; i++) {
      await cut();
      await new Promise((resolve) => setTimeout(resolve, 20 + (i % 4) * 15));
    }
    const before = writer.durable();
    await until(() => writer.durable() >= before + 500 || writer.errors() !== '', 30_000);
    await writer.kill();

    // pg emits a connection cut under a checked-out client as an 'error' event: unheard, it
    // ended the process (and a gateway with it).
    expect(writer.errors()).toBe('');
    await expectEveryDurableRowOnce(db.url, spoolDir, writer.durable());
  }, 60_000);
});
