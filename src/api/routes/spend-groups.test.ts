import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../../ledger/row.js';
import { openSqliteLedger, type SqliteLedger } from '../../ledger/sqlite.js';
import { silentLogger } from '../../log/logger.js';
import type { SpendQuery } from '../../ledger/ledger.js';
import { narrowGroups, querySpendNarrowed } from './spend-groups.js';
import { getSpend } from './spend.js';
import { callAdminRoute } from '../../../test/support/admin-call.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;

function row(id: string, org: string, costPico: bigint, atMs: number, decision = 'allow') {
  return {
    requestId: id,
    timestampMs: atMs,
    org,
    team: 'core',
    user: 'u1',
    endpoint: '/chat',
    provider: 'openai',
    upstream: 'openai',
    model: 'gpt-4o',
    resolvedModel: 'gpt-4o',
    deployment: null,
    status: decision === 'reject' ? 429 : 200,
    decision,
    reason: decision === 'reject' ? 'budget_exceeded' : null,
    streamed: false,
    inputTokens: 100,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 20,
    reasoningTokens: 0,
    costPico,
    usageSource: 'provider',
    priceSource: 'config',
    flags: [],
    latencyMs: 3,
    tags: {},
    keyId: null,
    countedInputTokens: 0,
    countedOutputTokens: 0,
  } as LedgerRow;
}

let ledger: SqliteLedger;

beforeAll(async () => {
  ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
  // Umbrella's single row is the largest, but Acme's two hours together cost more.
  ledger.append(row('a1', 'Acme', 600n, T0));
  ledger.append(row('a2', 'Acme', 500n, T0 + HOUR));
  ledger.append(row('u1', 'umbrella', 900n, T0));
  ledger.append(row('b1', 'beta', 100n, T0 + HOUR));
  ledger.append(row('b2', 'beta', 0n, T0 + HOUR, 'reject'));
  ledger.append(row('c1', 'acme-labs', 0n, T0, 'reject'));
  ledger.append(row('c2', 'acme-labs', 0n, T0, 'reject'));
  ledger.append(row('d1', 'delta', 0n, T0, 'reject'));
  await ledger.flush();
});

afterAll(async () => {
  await ledger.close();
});

const call = (query: string, scope: Record<string, string> | null = null) =>
  callAdminRoute<{ data?: Record<string, unknown>[]; [k: string]: unknown }>(
    getSpend,
    { ledger },
    `/spend?${query}`,
    scope,
  );

describe('GET /spend: limit', () => {
  it('keeps the groups with the highest total cost, and says how many there were', async () => {
    const { status, body } = await call('group_by=org&limit=2');

    expect(status).toBe(200);
    expect(body.data).toEqual([
      expect.objectContaining({ org: 'Acme', cost_usd: 1.1e-9, requests: 2 }),
      expect.objectContaining({ org: 'umbrella', cost_usd: 9e-10, requests: 1 }),
    ]);
    expect(body.total_groups).toBe(5);
  });

  it('keeps every bucket of a kept group, ranked on the sum of its buckets', async () => {
    const { body } = await call('group_by=org&granularity=hour&limit=1');

    expect(body.data).toEqual([
      expect.objectContaining({ org: 'Acme', bucket: '2026-03-01T00:00:00.000Z', cost_usd: 6e-10 }),
      expect.objectContaining({ org: 'Acme', bucket: '2026-03-01T01:00:00.000Z', cost_usd: 5e-10 }),
    ]);
  });

  it('ranks groups that cost nothing by their number of requests', async () => {
    const { body } = await call('group_by=org&decision=reject&limit=2');

    expect(body.data?.map((r) => [r.org, r.requests])).toEqual([
      ['acme-labs', 2],
      ['beta', 1],
    ]);
    expect(body.total_groups).toBe(3);
  });

  it('answers without total_groups when neither limit nor q is given', async () => {
    const { body } = await call('group_by=org');

    expect(body.data).toHaveLength(5);
    expect(body).not.toHaveProperty('total_groups');
  });
});

describe('GET /spend: q', () => {
  it('keeps the groups whose value contains the text, ignoring case', async () => {
    const { body } = await call('group_by=org&q=ACME');

    expect(body.data?.map((r) => r.org)).toEqual(['Acme', 'acme-labs']);
    expect(body.total_groups).toBe(2);
  });

  it('searches before the limit, so a small tenant is found among large ones', async () => {
    const { body } = await call('group_by=org&q=delt&limit=1');

    expect(body.data).toEqual([expect.objectContaining({ org: 'delta', requests: 1 })]);
    expect(body.total_groups).toBe(1);
  });

  it('stays inside a scoped token', async () => {
    const { body } = await call('group_by=org&q=a&limit=10', { org: 'beta' });

    expect(body.data?.map((r) => r.org)).toEqual(['beta']);
    expect(body.total_groups).toBe(1);
  });

  it('answers 400 to a bad limit and to q without group_by', async () => {
    const bad = [
      ['group_by=org&limit=0', 'limit must be a whole number from 1 to 1000'],
      ['group_by=org&limit=1001', 'limit must be a whole number from 1 to 1000'],
      ['group_by=org&limit=2.5', 'limit must be a whole number from 1 to 1000'],
      ['q=acme', 'q needs group_by'],
    ];
    for (const [query, message] of bad) {
      const { status, body } = await call(query as string);
      expect(status).toBe(400);
      expect((body.error as { message: string }).message).toBe(message);
    }
  });
});

describe('GET /spend: limit with buckets at scale', () => {
  const query: SpendQuery = { groupBy: ['org'], granularity: 'hour', filter: {} };

  it('buckets only the kept groups, with the same rows as bucketing them all', async () => {
    const asked: SpendQuery[] = [];
    const spy = {
      querySpend: (q: SpendQuery) => {
        asked.push(q);
        return ledger.querySpend(q);
      },
    };

    const narrowed = await querySpendNarrowed(spy, query, { limit: 2 });
    const everything = narrowGroups(await ledger.querySpend(query), ['org'], { limit: 2 });

    expect(narrowed).toEqual(everything);
    expect(narrowed.rows.map((r) => [r.values.org, r.bucketStartMs === T0 ? 0 : 1])).toEqual([
      ['umbrella', 0],
      ['Acme', 0],
      ['Acme', 1],
    ]);
    expect(asked.map((q) => [q.granularity, q.filter.org])).toEqual([
      [undefined, undefined],
      ['hour', 'Acme'],
      ['hour', 'umbrella'],
    ]);
  });

  it('buckets everything when a kept group has no value to filter on', async () => {
    const byTag: SpendQuery = { groupBy: ['tag:app'], granularity: 'hour', filter: {} };

    const narrowed = await querySpendNarrowed(ledger, byTag, { limit: 1 });

    // No row has an `app` tag: the one group is the missing value, with every row in it.
    expect(narrowed.totalGroups).toBe(1);
    expect(narrowed.rows.reduce((n, r) => n + r.requests, 0)).toBe(8);
  });
});
