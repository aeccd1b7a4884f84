import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/logger.js';
import { PostgresLedger, type PostgresLedgerOptions } from '../../src/ledger/postgres/ledger.js';
import { encodeItem, REJECTED_FILE, SPOOL_FILE } from '../../src/ledger/postgres/spool.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { capturedLogger, createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { ledgerRow } from '../support/rows.js';

// Rows the PostgreSQL ledger must keep whatever their text holds, and spools it must replay
// whatever state they were left in. Each test has a database of its own.
let scratch: string;
const open: PostgresLedger[] = [];
const databases: TestDatabase[] = [];

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'spendgate-pg-hostile-'));
});

afterAll(async () => {
  const wait = () => new Promise((resolve) => setTimeout(resolve, 3_000).unref());
  for (const ledger of open) await Promise.race([ledger.close().catch(() => undefined), wait()]);
  for (const db of databases) await db.drop();
  rmSync(scratch, { recursive: true, force: true });
});

let dirs = 0;
function spoolDir(): string {
  return join(scratch, `spool-${++dirs}`);
}

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
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

async function allRows(ledger: PostgresLedger): Promise<LedgerRow[]> {
  return (await ledger.queryRequests({}, 1_000)).rows;
}

describe('postgres ledger: rows with hostile text', () => {
  it('keeps rows whose text holds NUL bytes, and their tags stay queryable', async () => {
    const db = await database();
    const dir = spoolDir();
    const ledger = ledgerOn(db.url, { spoolDir: dir });

    // A JWT claim or a JSON model field can carry U+0000, which PostgreSQL text cannot.
    ledger.append(
      ledgerRow('nul-1', 1_000, {
        org: 'ac\u0000me',
        model: 'gpt-4o\u0000',
        tags: { app: 'a\u0000b' },
        costPico: 3n,
      }),
    );
    ledger.append(ledgerRow('plain', 1_001, { tags: { app: 'web' }, costPico: 4n }));
    await ledger.flush();
    await until(() => ledger.pending() === 0);

    const rows = await allRows(ledger);
    const byApp = await ledger.querySpend({ groupBy: ['tag:app'], filter: {} });
    expect(rows.map((r) => r.requestId).sort()).toEqual(['nul-1', 'plain']);
    expect(rows.find((r) => r.requestId === 'nul-1')).toMatchObject({
      org: 'ac\ufffdme',
      model: 'gpt-4o\ufffd',
      tags: { app: 'a\ufffdb' },
    });
    expect(byApp.map((g) => [g.values['tag:app'], g.costPico]).sort()).toEqual([
      ['a\ufffdb', 3n],
      ['web', 4n],
    ]);
    expect(existsSync(join(dir, REJECTED_FILE))).toBe(false);
  });

  it('keeps emoji, right-to-left text, lone surrogates and U+FFFF as sent (or replaced)', async () => {
    const db = await database();
    const ledger = ledgerOn(db.url);
    const odd = 'caf\u00e9 \u{1F4B8} \u05e9\u05dc\u05d5\u05dd \uffff \u202e';

    ledger.append(ledgerRow('odd', 1_000, { org: odd, user: '\ud800x', tags: { t: odd } }));
    await ledger.flush();
    await until(() => ledger.pending() === 0);

    const [row] = await allRows(ledger);
    const spend = await ledger.querySpend({ groupBy: ['org', 'tag:t'], filter: { org: odd } });
    expect(row).toMatchObject({ org: odd, user: '\ufffdx', tags: { t: odd } });
    expect(spend).toHaveLength(1);
  });

  it('keeps a row with a 200 kB tag and counts it in the rollups', async () => {
    const db = await database();
    const ledger = ledgerOn(db.url);
    const long = 'x'.repeat(200_000);

    ledger.append(ledgerRow('long', 1_000, { tags: { note: long }, costPico: 11n }));
    await ledger.flush();
    await until(() => ledger.pending() === 0);

    const [row] = await allRows(ledger);
    const [group] = await ledger.querySpend({ groupBy: ['tag:note'], filter: {} });
    expect(row?.tags.note).toHaveLength(200_000);
    expect(group).toMatchObject({ costPico: 11n, requests: 1 });
  });

  it('stores a request id appended twice once, in one batch and across batches', async () => {
    const db = await database();
    const ledger = ledgerOn(db.url);

    ledger.append(ledgerRow('dup', 1_000, { costPico: 5n }));
    ledger.append(ledgerRow('dup', 1_000, { costPico: 5n }));
    await ledger.flush();
    ledger.append(ledgerRow('dup', 1_000, { costPico: 5n }));
    await ledger.flush();

    const [spend] = await ledger.querySpend({ groupBy: [], filter: {} });
    expect((await allRows(ledger)).map((r) => r.requestId)).toEqual(['dup']);
    expect(spend).toMatchObject({ costPico: 5n, requests: 1 });
  });
});

describe('postgres ledger: damaged spools', () => {
  /** A spool folder holding `text` as its spool file, as a crashed gateway left it. */
  function leftSpool(text: string): string {
    const dir = spoolDir();
    const first = ledgerOn('postgres://postgres@127.0.0.1:1/none', { spoolDir: dir });
    void first.close();
    writeFileSync(join(dir, SPOOL_FILE), text);
    return dir;
  }

  it('replays the good lines around damaged ones and sets the damaged ones aside', async () => {
    const db = await database();
    const good = (id: string) => encodeItem({ row: ledgerRow(id, 1_000) });
    const dir = leftSpool(`${good('g1')}\n{"row": {"requ\u0000\n\n${good('g2')}\nnull\n`);
    const { logger, events } = capturedLogger();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const ledger = ledgerOn(db.url, { spoolDir: dir, logger });
    await until(() => ledger.pending() === 0);

    expect((await allRows(ledger)).map((r) => r.requestId).sort()).toEqual(['g1', 'g2']);
    const aside = readFileSync(join(dir, REJECTED_FILE), 'utf8').trim().split('\n');
    expect(events('ledger.spool_invalid').reduce((n, e) => n + Number(e.lines), 0)).toBe(2);
    expect(aside.map((l) => (JSON.parse(l) as { line: string }).line)).toEqual([
      '{"row": {"requ\u0000',
      'null',
    ]);
    expect(ledger.health().state).toBe('ok');
  });

  it('sets aside a line that parses but is not a whole row, instead of stalling the spool', async () => {
    const db = await database();
    const good = encodeItem({ row: ledgerRow('after', 1_000) });
    const dir = leftSpool(`{"row":{"requestId":"broken","costPico":"1"}}\n${good}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const ledger = ledgerOn(db.url, { spoolDir: dir });
    await until(() => ledger.pending() === 0, 5_000);

    expect((await allRows(ledger)).map((r) => r.requestId)).toEqual(['after']);
    expect(ledger.health().state).toBe('ok');
    const aside = JSON.parse(readFileSync(join(dir, REJECTED_FILE), 'utf8')) as { line: string };
    expect(aside.line).toBe('{"row":{"requestId":"broken","costPico":"1"}}');
  });
});

/**
 * A TCP door in front of the shared PostgreSQL: open, connections pass through; shut, they are
 * refused and the ones open are cut, as an outage looks to the gateway.
 */
async function door(): Promise<{
  url: (db: TestDatabase) => string;
  open(): Promise<void>;
  shut(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  return {
    url: (db) => db.url.replace(':5432/', `:${port}/`),
    open: () =>
      new Promise((resolve) => {
        server = createServer((client) => {
          const upstream = connect(5432, '127.0.0.1');
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('error', () => undefined);
            s.on('close', () => sockets.delete(s));
          }
          client.pipe(upstream).pipe(client);
        }).listen(port, '127.0.0.1', () => resolve());
      }),
    shut: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (server === null) return resolve();
        server.close(() => resolve());
        server = null;
      }),
  };
}

describe('postgres ledger: a spool cut from outside during an outage', () => {
  it('writes what is left, sets the torn line aside, and keeps writing', async () => {
    const db = await database();
    const gate = await door();
    const dir = spoolDir();
    const ledger = ledgerOn(gate.url(db), { spoolDir: dir, connectTimeoutMs: 300 });
    for (let i = 0; i < 10; i++) ledger.append(ledgerRow(`c${i}`, 1_000 + i));
    await ledger.flush();
    expect(ledger.health().state).toBe('down');

    // Someone cuts the file in the middle of its seventh line while the gateway runs.
    const file = join(dir, SPOOL_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    truncateSync(file, lines.slice(0, 6).join('\n').length + 1 + 20);
    await gate.open();
    ledger.append(ledgerRow('after', 2_000));
    await until(() => ledger.pending() === 0 && ledger.health().state === 'ok', 5_000);

    const ids = (await allRows(ledger)).map((r) => r.requestId).sort();
    expect(ids).toEqual(['after', 'c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    const aside = JSON.parse(readFileSync(join(dir, REJECTED_FILE), 'utf8')) as { line: string };
    expect(aside.line).toBe((lines[6] as string).slice(0, 20));
    expect(statSync(file).size).toBe(0);
    await gate.shut();
  });

  it('replays a spool cut short with no row appended after the cut, instead of hanging', async () => {
    const db = await database();
    const gate = await door();
    const dir = spoolDir();
    const ledger = ledgerOn(gate.url(db), { spoolDir: dir, connectTimeoutMs: 300 });
    for (let i = 0; i < 4; i++) ledger.append(ledgerRow(`n${i}`, 1_000 + i));
    await ledger.flush();

    const file = join(dir, SPOOL_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    truncateSync(file, lines.slice(0, 2).join('\n').length + 1 + 10);
    await gate.open();
    await until(() => ledger.pending() === 0 && ledger.health().state === 'ok', 5_000);

    expect((await allRows(ledger)).map((r) => r.requestId).sort()).toEqual(['n0', 'n1']);
    expect(statSync(file).size).toBe(0);
    await gate.shut();
  });
});
