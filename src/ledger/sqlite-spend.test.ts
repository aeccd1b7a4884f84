import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger.js';
import type { Granularity } from './buckets.js';
import type { GroupKey, SpendBucketRow, SpendQuery } from './ledger.js';
import type { LedgerRow } from './row.js';
import { openSqliteLedger, type SqliteLedger } from './sqlite.js';
import { ROLLUP_MIGRATIONS } from './sqlite-rollups.js';
import { SqliteSpendQuery } from './sqlite-spend.js';

const H = 3_600_000;
const D = 24 * H;
const START = Date.parse('2026-02-23T00:00:00Z');
// Fixed offsets: neither zone has daylight saving, so the test's own arithmetic is exact.
const OFFSETS: Record<string, number> = { UTC: 0, 'Asia/Shanghai': 8 * H, 'Asia/Kolkata': 5.5 * H };

function rng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function generate(count: number): LedgerRow[] {
  const next = rng(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const org = pick(['acme', 'beta', 'gamma']);
    const tags: Record<string, string> = { app: pick(['chat', 'search', 'ingest']) };
    if (next() < 0.5) tags.env = pick(['prod', 'staging']);
    return {
      requestId: `r${i}`,
      timestampMs: START + Math.floor(next() * 40 * D),
      org,
      team: `${org}-${pick(['a', 'b'])}`,
      user: `u${Math.floor(next() * 9)}`,
      endpoint: pick(['/chat', '/embed', '/summarise']),
      provider: pick(['openai', 'anthropic']),
      upstream: pick(['primary', 'backup']),
      model: pick(['gpt-4o', 'claude-sonnet-4-5', 'gpt-4o-mini']),
      resolvedModel: null,
      deployment: null,
      status: 200,
      decision: pick(['allow', 'allow', 'warn', 'reject'] as const),
      reason: null,
      streamed: false,
      inputTokens: Math.floor(next() * 5000),
      cachedInputTokens: Math.floor(next() * 100),
      cacheWriteTokens: 0,
      outputTokens: Math.floor(next() * 800),
      reasoningTokens: 0,
      costPico: next() < 0.05 ? null : BigInt(Math.floor(next() * 1e9)) * 1_000_003n + 7n,
      usageSource: 'provider',
      priceSource: null,
      flags: [],
      latencyMs: 5,
      tags,
      keyId: next() < 0.3 ? null : `key-${Math.floor(next() * 4)}`,
      countedInputTokens: 0,
      countedOutputTokens: 0,
    };
  });
}

function valueOf(row: LedgerRow, key: GroupKey): string | null {
  if (key.startsWith('tag:')) return row.tags[key.slice(4)] ?? null;
  if (key === 'key') return row.keyId;
  return row[key as 'org'];
}

function localBucket(ts: number, granularity: Granularity, tz: string): number {
  const off = OFFSETS[tz] as number;
  const local = ts + off;
  if (granularity === 'minute') return Math.floor(local / 60_000) * 60_000 - off;
  if (granularity === 'hour') return Math.floor(local / H) * H - off;
  const day = Math.floor(local / D);
  if (granularity === 'day') return day * D - off;
  // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
  if (granularity === 'week') return (day - ((day + 3) % 7)) * D - off;
  const date = new Date(day * D);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) - off;
}

/** The answer worked out from the generated rows, without the ledger. */
function expected(rows: LedgerRow[], q: SpendQuery): SpendBucketRow[] {
  const groups = new Map<string, SpendBucketRow>();
  for (const row of rows) {
    if (q.fromMs !== undefined && row.timestampMs < q.fromMs) continue;
    if (q.toMs !== undefined && row.timestampMs >= q.toMs) continue;
    if (q.filter.org !== undefined && row.org !== q.filter.org) continue;
    if (Object.entries(q.filter.tags ?? {}).some(([k, v]) => row.tags[k] !== v)) continue;
    const values = Object.fromEntries(q.groupBy.map((k) => [k, valueOf(row, k)]));
    const bucket = q.granularity
      ? localBucket(row.timestampMs, q.granularity, q.tz ?? 'UTC')
      : undefined;
    const id = JSON.stringify([bucket, values]);
    const group = groups.get(id) ?? {
      values,
      ...(bucket === undefined ? {} : { bucketStartMs: bucket }),
      costPico: 0n,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
    };
    group.costPico += row.costPico ?? 0n;
    group.requests += 1;
    group.inputTokens += row.inputTokens;
    group.outputTokens += row.outputTokens;
    group.cachedInputTokens += row.cachedInputTokens;
    groups.set(id, group);
  }
  return canonical([...groups.values()]);
}

function canonical(rows: SpendBucketRow[]): SpendBucketRow[] {
  const id = (r: SpendBucketRow) => JSON.stringify([r.bucketStartMs ?? null, r.values]);
  return [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

const GROUPINGS: GroupKey[][] = [
  ['org'],
  ['team'],
  ['user'],
  ['endpoint'],
  ['model'],
  ['provider'],
  ['upstream'],
  ['decision'],
  ['key'],
  ['tag:app'],
  ['tag:env'],
  ['org', 'model'],
  ['team', 'tag:env'],
  ['endpoint', 'user'],
];
const GRANULARITIES: (Granularity | undefined)[] = [undefined, 'hour', 'day', 'week', 'month'];
const ZONES = ['UTC', 'Asia/Shanghai', 'Asia/Kolkata'];

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

describe('spend query: sums equal the raw rows', () => {
  for (const tz of ZONES) {
    for (const granularity of GRANULARITIES) {
      it(`groups every way by ${granularity ?? 'no bucket'} in ${tz}, exactly`, () => {
        for (const groupBy of GROUPINGS) {
          const q: SpendQuery = { groupBy, granularity, tz, filter: {} };
          const want = expected(rows, q);
          expect(canonical(ledger.querySpend(q))).toEqual(want);
          expect(canonical(ledger.querySpendRaw(q))).toEqual(want);
        }
      });
    }
  }

  it('honours hour-aligned and partial ranges, filters and tag filters', () => {
    const ranges = [
      { fromMs: START + 3 * D, toMs: START + 17 * D },
      { fromMs: START + 3 * D + 5 * H, toMs: START + 9 * D + 2 * H },
      { fromMs: START + 3 * D + 1234, toMs: START + 9 * D - 1 },
    ];
    for (const range of ranges) {
      for (const granularity of [undefined, 'minute', 'hour', 'day'] as const) {
        const q: SpendQuery = {
          groupBy: ['org', 'tag:app'],
          granularity,
          tz: 'Asia/Kolkata',
          ...range,
          filter: { org: 'acme', tags: { env: 'prod' } },
        };
        expect(canonical(ledger.querySpend(q))).toEqual(expected(rows, q));
        expect(canonical(ledger.querySpendRaw(q))).toEqual(expected(rows, q));
      }
    }
  });

  it('sums everything into one group when nothing is grouped', () => {
    const [all] = ledger.querySpend({ groupBy: [], filter: {} });
    const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);

    expect(all?.costPico).toBe(total);
    expect(all?.requests).toBe(3000);
  });
});

describe('spend query: order', () => {
  it('sorts rows by cost, highest first', () => {
    const result = ledger.querySpend({ groupBy: ['user'], granularity: 'day', filter: {} });

    expect(result.length).toBeGreaterThan(100);
    for (let i = 1; i < result.length; i++) {
      expect(
        (result[i - 1] as SpendBucketRow).costPico >= (result[i] as SpendBucketRow).costPico,
      ).toBe(true);
    }
  });
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
  it('counts a duplicate request id once', async () => {
    const own = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    const first = rows[0] as LedgerRow;
    own.append(first);
    own.append(first);
    await own.flush();

    const [only] = own.querySpend({ groupBy: [], filter: {} });

    expect(only?.requests).toBe(1);
    expect(only?.costPico).toBe(first.costPico);
    await own.close();
  });

  it('builds the rollups of an existing ledger when it migrates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendgate-rollup-'));
    const path = join(dir, 'ledger.db');
    const before = openSqliteLedger({ path, logger: silentLogger() });
    for (const row of rows.slice(0, 500)) before.append(row);
    await before.flush();
    const latest = before.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get();
    before.db.exec(
      `DELETE FROM schema_migrations WHERE version > ${
        Number(latest) - ROLLUP_MIGRATIONS.length
      }; DROP TABLE spend_daily_org; DROP TABLE spend_hourly_org; DROP TABLE spend_hourly;`,
    );
    await before.close();

    const after = openSqliteLedger({ path, logger: silentLogger() });
    const q: SpendQuery = { groupBy: ['team', 'key'], granularity: 'day', filter: {} };

    expect(canonical(after.querySpend(q))).toEqual(expected(rows.slice(0, 500), q));
    await after.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('spend query: freshness', () => {
  it('includes a row right after flush', async () => {
    const own = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    own.append(rows[1] as LedgerRow);
    await own.flush();

    expect(own.querySpend({ groupBy: ['org'], filter: {} })[0]?.requests).toBe(1);
    await own.close();
  });

  it('includes a row within 50 ms of its append without a flush', async () => {
    const own = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    own.append(rows[2] as LedgerRow);
    await new Promise((resolve) => setTimeout(resolve, 80));

    expect(own.pending()).toBe(0);
    expect(own.querySpend({ groupBy: ['org'], filter: {} })[0]?.requests).toBe(1);
    await own.close();
  });
});
