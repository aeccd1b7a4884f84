import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger.js';
import type { SpendQuery } from './ledger.js';
import type { LedgerRow } from './row.js';
import { MIGRATIONS, openSqliteLedger, type SqliteLedger } from './sqlite.js';
import { ROLLUP_MIGRATIONS } from './sqlite-rollups.js';
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
    const versions = ROLLUP_MIGRATIONS.map((sql) => MIGRATIONS.indexOf(sql) + 1);
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
