import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger.js';
import type { SpendQuery } from './ledger.js';
import type { LedgerRow } from './row.js';
import { MIGRATIONS, openSqliteLedger, type SqliteLedger } from './sqlite.js';
import { isUnpriced } from './rollups.js';
import { ROLLUP_MIGRATIONS, UNPRICED_MIGRATION } from './sqlite-rollups.js';
import { SqliteSpendQuery } from './sqlite-spend.js';
import { canonical, D, expected, generate, START } from '../../test/support/spend-fixture.js';

// What every ledger's spend query owes is in test/support/ledger-contract.ts; these are the
// SQLite ledger's own choices: its plans, its migrations, its flush timer.

let ledger: SqliteLedger;
const rows = generate(3000);

beforeAll(async () => {
  ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
  for (const row of rows) ledger.append(row);
  await ledger.flush();
});

afterAll(async () => {
  await ledger.close();
});

describe('spend query: source', () => {
  const plan = (q: Omit<SpendQuery, 'filter'>) => {
    const spend = new SqliteSpendQuery(ledger.db);
    const query = { ...q, filter: {} };
    const chosen = spend.plan(query, { fromMs: q.fromMs, toMs: q.toMs }, q.tz ?? 'UTC');
    return `${chosen?.rollup?.table ?? 'raw'}/${chosen?.grainMs}`;
  };
  const month = { fromMs: START, toMs: START + 30 * D };

  it('reads the smallest rollup that answers exactly, else raw rows', () => {
    expect(plan({ groupBy: ['org', 'model'], ...month })).toBe('spend_daily_org/86400000');
    expect(plan({ groupBy: ['endpoint'], granularity: 'day', ...month })).toBe(
      'spend_daily_org/86400000',
    );
    expect(plan({ groupBy: ['org'], granularity: 'day', tz: 'Asia/Shanghai', ...month })).toBe(
      'spend_hourly_org/3600000',
    );
    expect(plan({ groupBy: ['user'], granularity: 'week', ...month })).toBe('spend_hourly/3600000');
    expect(plan({ groupBy: ['org'], granularity: 'day', tz: 'Asia/Kolkata', ...month })).toBe(
      'raw/1800000',
    );
    expect(plan({ groupBy: ['org'], granularity: 'minute', ...month })).toBe('raw/60000');
    expect(plan({ groupBy: ['org'], fromMs: START + 1, toMs: START + D })).toBe('raw/1');
  });
});

describe('spend query: rollups stay with the raw rows', () => {
  it('builds the rollups of an existing ledger when it migrates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendgate-rollup-'));
    const path = join(dir, 'ledger.db');
    const before = openSqliteLedger({ path, logger: silentLogger() });
    for (const row of rows.slice(0, 500)) before.append(row);
    await before.flush();
    // The rollups as a release before them had none: the later migration that adds their
    // unpriced count goes too.
    const versions = [...ROLLUP_MIGRATIONS, UNPRICED_MIGRATION].map(
      (sql) => MIGRATIONS.indexOf(sql) + 1,
    );
    before.db.exec(
      `DELETE FROM schema_migrations WHERE version IN (${versions.join(', ')});
       DROP TABLE spend_daily_org; DROP TABLE spend_hourly_org; DROP TABLE spend_hourly;`,
    );
    await before.close();

    const after = openSqliteLedger({ path, logger: silentLogger() });
    const q: SpendQuery = { groupBy: ['team', 'key'], granularity: 'day', filter: {} };

    expect(canonical(await after.querySpend(q))).toEqual(expected(rows.slice(0, 500), q));
    await after.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('spend query: unpriced requests', () => {
  it('counts the unpriced rows already in the ledger when the rollups gain the column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendgate-unpriced-'));
    const path = join(dir, 'ledger.db');
    const written = rows.slice(0, 800);
    const before = openSqliteLedger({ path, logger: silentLogger() });
    for (const row of written) before.append(row);
    await before.flush();
    // Back to the release before the column: the rollups without it, the migration not applied.
    before.db.exec(
      `ALTER TABLE spend_daily_org DROP COLUMN unpriced_requests;
       ALTER TABLE spend_hourly_org DROP COLUMN unpriced_requests;
       ALTER TABLE spend_hourly DROP COLUMN unpriced_requests;
       DELETE FROM schema_migrations WHERE version = ${MIGRATIONS.indexOf(UNPRICED_MIGRATION) + 1}`,
    );
    await before.close();

    const after = openSqliteLedger({ path, logger: silentLogger() });
    const byOrg: SpendQuery = { groupBy: ['org', 'model'], filter: {} };
    const byTeamDay: SpendQuery = { groupBy: ['team', 'key'], granularity: 'day', filter: {} };
    const unpriced = written.filter(isUnpriced).length;

    expect(unpriced).toBeGreaterThan(20);
    expect(canonical(await after.querySpend(byOrg))).toEqual(expected(written, byOrg));
    expect(canonical(await after.querySpend(byTeamDay))).toEqual(expected(written, byTeamDay));
    const total = await after.querySpend({ groupBy: [], filter: {} });
    expect(total.map((r) => r.unpricedRequests)).toEqual([unpriced]);
    // Rows written after the migration add to the same count; a row unmetered does not.
    const base = written[0] as LedgerRow;
    after.append({
      ...base,
      requestId: 'unpriced-after',
      costPico: null,
      flags: ['unpriced_model'],
    });
    after.append({ ...base, requestId: 'unmetered-after', costPico: null, flags: ['unmetered'] });
    await after.flush();
    const again = await after.querySpend({ groupBy: [], filter: {} });
    expect(again.map((r) => r.unpricedRequests)).toEqual([unpriced + 1]);
    await after.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('spend query: freshness', () => {
  it('includes a row within 50 ms of its append without a flush', async () => {
    const own = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    own.append(rows[2] as LedgerRow);
    await new Promise((resolve) => setTimeout(resolve, 80));

    expect(own.pending()).toBe(0);
    expect((await own.querySpend({ groupBy: ['org'], filter: {} }))[0]?.requests).toBe(1);
    await own.close();
  });
});
