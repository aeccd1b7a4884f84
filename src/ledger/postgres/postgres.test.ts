import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  capturedLogger,
  createTestDatabase,
  freePort,
  type TestDatabase,
} from '../../../test/support/postgres.js';
import { ledgerRow } from '../../../test/support/rows.js';
import { canonical, expected, generate } from '../../../test/support/spend-fixture.js';
import { GatewayError } from '../../errors.js';
import { silentLogger } from '../../log/logger.js';
import type { SpendQuery } from '../ledger.js';
import type { LedgerRow } from '../row.js';
import { PostgresLedger, type PostgresLedgerOptions } from './ledger.js';
import { MIGRATIONS } from './migrations.js';
import { isUnpriced } from '../rollups.js';
import { encodeItem, REJECTED_FILE, SPOOL_FILE } from './spool.js';

let database: TestDatabase;
let scratch: string;
const open: PostgresLedger[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = mkdtempSync(join(tmpdir(), 'spendgate-pg-unit-'));
});

afterAll(async () => {
  // Bounded, so the database is dropped even if a ledger cannot close.
  const wait = () => new Promise((resolve) => setTimeout(resolve, 3_000).unref());
  for (const ledger of open) await Promise.race([ledger.close().catch(() => undefined), wait()]);
  await database.drop();
  rmSync(scratch, { recursive: true, force: true });
});

let dirs = 0;
function spoolDir(): string {
  return join(scratch, `spool-${++dirs}`);
}

/**
 * A ledger reopened on `url` after `rows` were written and `undo` took the schema back to an
 * earlier release's: the reopened ledger runs the migrations `undo` removed.
 */
async function reopenedAfter(
  url: string,
  rows: LedgerRow[],
  undo: string,
): Promise<PostgresLedger> {
  const before = ledgerOn(url);
  for (const row of rows) before.append(row);
  await before.flush();
  await before.close();
  await sql(url, undo);
  return ledgerOn(url);
}

function ledgerOn(url: string, extra: Partial<PostgresLedgerOptions> = {}): PostgresLedger {
  const ledger = new PostgresLedger({
    url,
    logger: silentLogger(),
    spoolDir: spoolDir(),
    retryMs: 100,
    ...extra,
  });
  open.push(ledger);
  return ledger;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A URL on which nothing listens: every connection is refused at once. */
async function deadUrl(): Promise<string> {
  return `postgres://postgres@127.0.0.1:${await freePort()}/nothing`;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('postgres ledger: migrations', () => {
  it('migrates a fresh database once when two replicas start at the same moment', async () => {
    const fresh = await createTestDatabase();
    try {
      const a = ledgerOn(fresh.url);
      const b = ledgerOn(fresh.url);

      const [left, right] = await Promise.all([
        a.querySpend({ groupBy: [], filter: {} }),
        b.queryRequests({}, 1),
      ]);

      expect(left.map((g) => [g.requests, g.costPico])).toEqual([[0, 0n]]);
      expect(right.rows).toEqual([]);
      const versions = await sql<{ version: number }>(
        fresh.url,
        'SELECT version FROM spendgate_migrations ORDER BY version',
      );
      expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
      await a.close();
      await b.close();
    } finally {
      await fresh.drop();
    }
  });

  it('builds the rollups of an existing ledger when it migrates', async () => {
    const fresh = await createTestDatabase();
    const rows = generate(500);
    try {
      const after = await reopenedAfter(
        fresh.url,
        rows,
        `DELETE FROM spendgate_migrations WHERE version IN (3, 5);
         DROP TABLE spendgate_spend_daily_org, spendgate_spend_hourly_org, spendgate_spend_hourly;
         DROP FUNCTION spendgate_group_key;`,
      );
      const q: SpendQuery = { groupBy: ['team', 'key'], granularity: 'day', filter: {} };

      expect(canonical(await after.querySpend(q))).toEqual(expected(rows, q));
      const [{ n }] = (await sql<{ n: string }>(
        fresh.url,
        'SELECT COUNT(*) AS n FROM spendgate_spend_hourly',
      )) as [{ n: string }];
      expect(Number(n)).toBeGreaterThan(0);
      await after.close();
    } finally {
      await fresh.drop();
    }
  });
});

describe('postgres ledger: the unpriced-requests migration', () => {
  it('counts the unpriced rows already in the ledger when the rollups gain the column', async () => {
    const fresh = await createTestDatabase();
    const rows = generate(800);
    try {
      // Back to version 4: the rollups without the column, as the previous release left them.
      const after = await reopenedAfter(
        fresh.url,
        rows,
        `DELETE FROM spendgate_migrations WHERE version = 5;
         ALTER TABLE spendgate_spend_daily_org DROP COLUMN unpriced_requests;
         ALTER TABLE spendgate_spend_hourly_org DROP COLUMN unpriced_requests;
         ALTER TABLE spendgate_spend_hourly DROP COLUMN unpriced_requests;`,
      );
      const byOrg: SpendQuery = { groupBy: ['org', 'model'], filter: {} };
      const byTeamDay: SpendQuery = { groupBy: ['team', 'key'], granularity: 'day', filter: {} };
      const unpriced = rows.filter(isUnpriced).length;

      expect(unpriced).toBeGreaterThan(20);
      expect(canonical(await after.querySpend(byOrg))).toEqual(expected(rows, byOrg));
      expect(canonical(await after.querySpend(byTeamDay))).toEqual(expected(rows, byTeamDay));
      const total = await after.querySpend({ groupBy: [], filter: {} });
      expect(total.map((r) => r.unpricedRequests)).toEqual([unpriced]);
      await after.close();
    } finally {
      await fresh.drop();
    }
  });
});

describe('postgres ledger: the events-by-type index migration', () => {
  it('applies to a ledger of the previous version, and type queries answer as before', async () => {
    const fresh = await createTestDatabase();
    try {
      const before = ledgerOn(fresh.url);
      for (let i = 1; i <= 40; i++) {
        before.events.append({
          id: `e${String(i).padStart(2, '0')}`,
          timestampMs: i,
          type: i % 2 === 0 ? 'rejection' : 'warning',
          scope: {},
          message: 'm',
          data: {},
          actor: null,
        });
      }
      await before.flush();
      await before.close();
      // Back to version 3, as a ledger written by the previous release.
      await sql(
        fresh.url,
        `DELETE FROM spendgate_migrations WHERE version = 4;
         DROP INDEX spendgate_events_type_ts;`,
      );

      const after = ledgerOn(fresh.url);
      const found = await after.events.query({ type: 'rejection', limit: 3 });

      expect(found.map((e) => e.id)).toEqual(['e40', 'e38', 'e36']);
      const indexes = await sql<{ indexdef: string }>(
        fresh.url,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'spendgate_events_type_ts'",
      );
      expect(indexes.map((i) => i.indexdef)).toEqual([
        'CREATE INDEX spendgate_events_type_ts ON public.spendgate_events USING btree (type, ts DESC, id DESC)',
      ]);
      const versions = await sql<{ version: number }>(
        fresh.url,
        'SELECT version FROM spendgate_migrations ORDER BY version',
      );
      expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
      await after.close();
    } finally {
      await fresh.drop();
    }
  });
});

describe('postgres ledger: outage and spool', () => {
  it('spools rows while the database is unreachable and fails reads at once', async () => {
    const { logger, events } = capturedLogger();
    const dir = spoolDir();
    const ledger = ledgerOn(await deadUrl(), { logger, spoolDir: dir });
    ledger.append(ledgerRow('s1', 1_000, { costPico: 9_007_199_254_740_993n }));
    ledger.append(ledgerRow('s2', 2_000, { costPico: null }));

    await ledger.flush();
    const started = Date.now();
    const read = await ledger.queryRequests({}, 10).catch((err: unknown) => err);

    expect(read).toBeInstanceOf(GatewayError);
    expect((read as GatewayError).code).toBe('store_unavailable');
    expect((read as GatewayError).httpStatus).toBe(503);
    expect(Date.now() - started).toBeLessThan(500);
    expect(ledger.health()).toEqual({ state: 'down', spooledRows: 2 });
    expect(ledger.pending()).toBe(2);
    const lines = readFileSync(join(dir, SPOOL_FILE), 'utf8').trim().split('\n');
    expect(
      lines.map((l) => (JSON.parse(l) as { row: { requestId: string } }).row.requestId),
    ).toEqual(['s1', 's2']);
    expect(lines[0]).toContain('"costPico":"9007199254740993"');
    expect(events('ledger.down')).toHaveLength(1);
    await ledger.close();
  });

  it('replays a spool left by an earlier run at start, every row once, counted once', async () => {
    const dir = spoolDir();
    const fresh = await createTestDatabase();
    try {
      const down = ledgerOn(await deadUrl(), { spoolDir: dir });
      down.append(ledgerRow('p1', 3_600_000, { costPico: 5n }));
      down.append(ledgerRow('p2', 3_600_001, { costPico: 7n }));
      down.events.append({
        id: 'ev1',
        timestampMs: 3_600_002,
        type: 'kill_switch_created',
        scope: { org: 'acme' },
        message: 'kill switch org=acme set by finance',
        data: {},
        actor: 'finance',
      });
      await down.flush();
      await down.close();
      const spooled = readFileSync(join(dir, SPOOL_FILE), 'utf8');

      const up = ledgerOn(fresh.url, { spoolDir: dir });
      await until(() => up.health().state === 'ok' && up.pending() === 0);
      await up.close();
      // A crash after the commit but before the spool was emptied: the same lines again.
      writeFileSync(join(dir, SPOOL_FILE), spooled);
      const again = ledgerOn(fresh.url, { spoolDir: dir });
      await until(() => again.health().state === 'ok' && again.pending() === 0);

      const rows = (await again.queryRequests({}, 10)).rows;
      const [spend] = await again.querySpend({ groupBy: ['org'], filter: {} });
      const [hourly] = await again.querySpend({
        groupBy: ['org'],
        granularity: 'hour',
        filter: {},
      });
      expect(rows.map((r) => [r.requestId, r.costPico])).toEqual([
        ['p2', 7n],
        ['p1', 5n],
      ]);
      expect(spend).toMatchObject({ costPico: 12n, requests: 2 });
      expect(hourly).toMatchObject({ costPico: 12n, requests: 2, bucketStartMs: 3_600_000 });
      expect((await again.events.query({ limit: 10 })).map((e) => e.id)).toEqual(['ev1']);
      expect(statSync(join(dir, SPOOL_FILE)).size).toBe(0);
      await again.close();
    } finally {
      await fresh.drop();
    }
  });

  it('cuts off a line left half-written by a crash and replays the rest', async () => {
    const { logger, events } = capturedLogger();
    const dir = spoolDir();
    const first = ledgerOn(await deadUrl(), { spoolDir: dir });
    await first.close();
    const whole = encodeItem({ row: ledgerRow('t1', 1_000) });
    writeFileSync(join(dir, SPOOL_FILE), `${whole}\n`);
    appendFileSync(join(dir, SPOOL_FILE), whole.slice(0, 40));

    const ledger = ledgerOn(database.url, { spoolDir: dir, logger });
    await until(() => ledger.pending() === 0);

    expect(
      (await ledger.queryRequests({ org: 'acme' }, 10)).rows.map((r) => r.requestId),
    ).toContain('t1');
    expect(events('ledger.spool_torn')).toHaveLength(1);
    await ledger.close();
  });

  it('sets aside a row the database refuses and writes the rest of its batch', async () => {
    const { logger, events } = capturedLogger();
    const dir = spoolDir();
    const fresh = await createTestDatabase();
    try {
      const ledger = ledgerOn(fresh.url, { spoolDir: dir, logger });
      ledger.append(ledgerRow('ok1', 1_000));
      // Out of the INTEGER range of `status`: the database can never take this row.
      ledger.append(ledgerRow('bad', 1_001, { status: 3_000_000_000 }));
      ledger.append(ledgerRow('ok2', 1_002));

      await ledger.flush();
      await until(() => ledger.pending() === 0);

      const ids = (await ledger.queryRequests({}, 10)).rows.map((r) => r.requestId);
      const rejected = readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n');
      expect(ids).toEqual(['ok2', 'ok1']);
      expect(rejected).toHaveLength(1);
      expect(JSON.parse(rejected[0] as string)).toMatchObject({
        item: { row: { requestId: 'bad', status: 3_000_000_000 } },
      });
      expect(events('ledger.row_rejected').map((e) => e.requestId)).toEqual(['bad']);
      expect(ledger.health().state).toBe('ok');
      await ledger.close();
    } finally {
      await fresh.drop();
    }
  });

  it('refuses a second ledger on a spool folder that is in use', async () => {
    const dir = spoolDir();
    ledgerOn(database.url, { spoolDir: dir });

    expect(() => ledgerOn(database.url, { spoolDir: dir })).toThrow(/is used by another gateway/);
  });

  it('without a spool, a flush during an outage fails instead of hanging', async () => {
    const ledger = ledgerOn(await deadUrl(), { spoolDir: null });
    ledger.append(ledgerRow('n1', 1_000));

    const result = await ledger.flush().catch((err: unknown) => err);

    expect((result as GatewayError).code).toBe('store_unavailable');
    expect(ledger.pending()).toBe(1);
    await ledger.close();
  });
});
