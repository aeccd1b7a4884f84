import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../../ledger/row.js';
import { openSqliteLedger, type SqliteLedger } from '../../ledger/sqlite.js';
import { silentLogger } from '../../log/logger.js';
import { getSpend } from './spend.js';
import { callAdminRoute } from '../../../test/support/admin-call.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');

function row(
  id: string,
  org: string,
  model: string,
  costPico: bigint | null,
  atMs: number,
): LedgerRow {
  return {
    requestId: id,
    timestampMs: atMs,
    org,
    team: `${org}-core`,
    user: 'u1',
    endpoint: '/chat',
    provider: 'openai',
    upstream: 'openai',
    model,
    resolvedModel: model,
    deployment: null,
    status: 200,
    decision: 'allow',
    reason: null,
    streamed: false,
    inputTokens: 100,
    cachedInputTokens: 10,
    cacheWriteTokens: 0,
    outputTokens: 20,
    reasoningTokens: 0,
    costPico,
    usageSource: 'provider',
    priceSource: 'catalogue',
    flags: costPico === null ? ['unpriced_model'] : [],
    latencyMs: 3,
    tags: { app: org === 'acme' ? 'chat' : 'batch' },
    keyId: null,
    countedInputTokens: 0,
    countedOutputTokens: 0,
  };
}

let ledger: SqliteLedger;

beforeAll(async () => {
  ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
  ledger.append(row('a1', 'acme', 'gpt-4o', 100_000_000n, T0 + 1_000));
  ledger.append(row('a2', 'acme', 'gpt-4o', 25_000_000n, T0 + 7_200_000));
  ledger.append(row('a3', 'acme', 'gpt-4o-mini', 1n, T0 + 3_600_000));
  ledger.append(row('b1', 'beta', 'gpt-4o', 900_000_000_000n, T0 + 10_000));
  // A model with no price: its cost is unknown, so it adds to the requests, not to the cost.
  ledger.append(row('a4', 'acme', 'my-llama', null, T0 + 20_000));
  await ledger.flush();
});

afterAll(async () => {
  await ledger.close();
});

const call = (query: string, scope: Record<string, string> | null = null) =>
  callAdminRoute(getSpend, { ledger }, `/spend?${query}`, scope);

describe('GET /spend', () => {
  it('groups by org and model, highest cost first, with exact decimal costs', async () => {
    const { status, body } = await call('group_by=org,model');

    expect(status).toBe(200);
    expect(body.data).toEqual([
      {
        org: 'beta',
        model: 'gpt-4o',
        cost_usd: 0.9,
        requests: 1,
        input_tokens: 100,
        output_tokens: 20,
        cached_input_tokens: 10,
        unpriced_requests: 0,
      },
      {
        org: 'acme',
        model: 'gpt-4o',
        cost_usd: 0.000125,
        requests: 2,
        input_tokens: 200,
        output_tokens: 40,
        cached_input_tokens: 20,
        unpriced_requests: 0,
      },
      {
        org: 'acme',
        model: 'gpt-4o-mini',
        cost_usd: 1e-12,
        requests: 1,
        input_tokens: 100,
        output_tokens: 20,
        cached_input_tokens: 10,
        unpriced_requests: 0,
      },
      {
        org: 'acme',
        model: 'my-llama',
        cost_usd: 0,
        requests: 1,
        input_tokens: 100,
        output_tokens: 20,
        cached_input_tokens: 10,
        unpriced_requests: 1,
      },
    ]);
  });

  it('writes costs as plain decimals, never with an exponent', async () => {
    const { text } = await call('group_by=model&model=gpt-4o-mini');

    expect(text).toContain('"cost_usd":0.000000000001');
  });

  it('buckets by hour from and to, in the given zone', async () => {
    const { body } = await call(
      'group_by=org&granularity=day&tz=Asia/Kolkata&tag:app=chat' +
        '&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z',
    );

    expect(body.data).toEqual([
      expect.objectContaining({
        org: 'acme',
        bucket: '2026-02-28T18:30:00.000Z',
        requests: 4,
        unpriced_requests: 1,
      }),
    ]);
  });

  it('answers 400 to unknown keys, granularities, zones and times', async () => {
    const bad = [
      ['group_by=org,colour', 'group_by: unknown key "colour"'],
      ['granularity=fortnight', 'granularity must be one of'],
      ['tz=Mars/Olympus', 'tz: "Mars/Olympus" is not an IANA time zone'],
      ['from=yesterday', 'from must be an ISO 8601 time'],
      ['from=2026-03-02&to=2026-03-01', 'from must be before to'],
    ];
    for (const [query, message] of bad) {
      const { status, body } = await call(query as string);
      expect(status).toBe(400);
      expect((body.error as { message: string }).message).toContain(message);
    }
  });
});

describe('GET /spend: scoped tokens', () => {
  it('returns only the scope of a scoped token, whatever the parameters ask', async () => {
    const acme = { org: 'acme' };

    expect((await call('group_by=org', acme)).body.data).toEqual([
      expect.objectContaining({ org: 'acme', requests: 4, unpriced_requests: 1 }),
    ]);
    expect((await call('group_by=org&org=beta', acme)).body.data).toEqual([]);
    expect((await call('group_by=model&tag:app=batch', acme)).body.data).toEqual([]);
    expect((await call('group_by=team&team=beta-core', acme)).body.data).toEqual([]);
    expect((await call('group_by=org', { 'tag:app': 'batch' })).body.data).toEqual([
      expect.objectContaining({ org: 'beta', requests: 1 }),
    ]);
  });
});
