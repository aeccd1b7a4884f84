import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/log-capture.js';
import { ledgerRow } from '../../test/support/rows.js';
import type { GatewayEvent } from '../events/event.js';
import { openSqliteLedger, type SqliteLedger } from './sqlite.js';
import { isRowRefusal } from './sqlite-refusals.js';

let dir: string;
let path: string;
let ledger: SqliteLedger;
let log: ReturnType<typeof capturingLogger>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spendgate-sqlite-refusals-'));
  path = join(dir, 'ledger.db');
  log = capturingLogger();
  // A long interval: only the test's flushes write.
  ledger = openSqliteLedger({ path, logger: log.logger, flushIntervalMs: 60_000 });
});

afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

type Rejected = { reason: string; item: { row?: Record<string, unknown>; event?: GatewayEvent } };

function rejected(): Rejected[] {
  const file = `${path}.rejected.ndjson`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Rejected);
}

async function storedIds(): Promise<string[]> {
  return (await ledger.queryRequests({}, 100)).rows.map((r) => r.requestId).reverse();
}

function event(id: string, timestampMs: number): GatewayEvent {
  return {
    id,
    timestampMs,
    type: 'warning',
    scope: { org: 'acme' },
    message: 'near the limit',
    data: {},
    actor: null,
  };
}

describe('sqlite ledger: a row the database refuses', () => {
  it('writes the rows around it and sets it aside with its exact cost', async () => {
    ledger.append(ledgerRow('r1', 1_000));
    ledger.append(ledgerRow('r2', 2_000, { costPico: 2n ** 63n }));
    ledger.append(ledgerRow('r3', 3_000));

    await ledger.flush();

    expect(await storedIds()).toEqual(['r1', 'r3']);
    expect(ledger.pending()).toBe(0);
    const [entry, ...more] = rejected();
    expect(more).toEqual([]);
    expect(entry?.item.row?.requestId).toBe('r2');
    expect(entry?.item.row?.costPico).toBe('9223372036854775808');
    expect(entry?.reason).toBe('The bound string, buffer, or bigint is too big');
    const spend = await ledger.querySpend({ groupBy: [], filter: {} });
    expect(spend[0]?.costPico).toBe(2_000_000_000n);
  });

  it('logs ledger.row_rejected once per refused row, with its request id and the error', async () => {
    ledger.append(ledgerRow('r1', 1_000, { costPico: 2n ** 64n }));
    ledger.append(ledgerRow('r2', 2_000, { costPico: 2n ** 64n }));

    await ledger.flush();
    await ledger.flush();

    const logged = log.lines.filter((l) => l.event === 'ledger.row_rejected');
    expect(logged.map((l) => [l.requestId, l.err, l.level])).toEqual([
      ['r1', 'The bound string, buffer, or bigint is too big', 50],
      ['r2', 'The bound string, buffer, or bigint is too big', 50],
    ]);
    expect(log.lines.some((l) => l.event === 'ledger.flush_failed')).toBe(false);
  });

  it('sets aside a row whose cost would push a rollup sum past 64 bits', async () => {
    const half = 2n ** 62n;
    ledger.append(ledgerRow('r1', 1_000, { costPico: half }));
    ledger.append(ledgerRow('r2', 2_000, { costPico: half }));

    await ledger.flush();

    expect(await storedIds()).toEqual(['r1']);
    expect(rejected().map((r) => [r.item.row?.requestId, r.reason])).toEqual([
      ['r2', 'cannot store REAL value in INTEGER column spend_daily_org.cost_pico'],
    ]);
  });

  it('sets aside an event it refuses and writes the other events of the batch', async () => {
    ledger.events.append(event('e1', 1_000));
    ledger.events.append(event('e2', 1.5));
    ledger.events.append(event('e3', 3_000));
    ledger.append(ledgerRow('r1', 1_000, { costPico: 2n ** 64n }));

    await ledger.flush();

    const events = await ledger.events.query({ limit: 10 });
    expect(events.map((e) => e.id)).toEqual(['e3', 'e1']);
    expect(rejected().map((r) => r.item.row?.requestId ?? r.item.event?.id)).toEqual(['r1', 'e2']);
  });
});

describe('sqlite ledger: a database that cannot write right now', () => {
  it('keeps the whole batch, in order, and sets nothing aside', async () => {
    ledger.db.pragma('busy_timeout = 0');
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    ledger.append(ledgerRow('r1', 1_000));
    ledger.append(ledgerRow('r2', 2_000));

    await ledger.flush();

    expect(ledger.pending()).toBe(2);
    expect(rejected()).toEqual([]);
    expect(log.lines.filter((l) => l.event === 'ledger.flush_failed')).toHaveLength(1);
    other.exec('COMMIT');
    other.close();
    await ledger.flush();
    expect(await storedIds()).toEqual(['r1', 'r2']);
    expect(log.lines.some((l) => l.event === 'ledger.flush_recovered')).toBe(true);
  });
});

describe('sqlite ledger: which failures are one row fault', () => {
  it('tells refusals from failures of the database', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });

    expect(isRowRefusal(new RangeError('The bound string, buffer, or bigint is too big'))).toBe(
      true,
    );
    expect(isRowRefusal(coded('SQLITE_CONSTRAINT_DATATYPE'))).toBe(true);
    expect(isRowRefusal(coded('SQLITE_TOOBIG'))).toBe(true);
    expect(isRowRefusal(coded('SQLITE_BUSY'))).toBe(false);
    expect(isRowRefusal(coded('SQLITE_FULL'))).toBe(false);
    expect(isRowRefusal(coded('SQLITE_IOERR_WRITE'))).toBe(false);
    expect(isRowRefusal(new Error('no code'))).toBe(false);
  });
});
