import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../src/money/money.js';
import { ledgerRow } from '../support/rows.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

// SPEC "HTTP contract": GET /spend filters on any dimension (`key` is one, docs/query-export.md)
// and groups by any tag; bad input gets a clear 4xx, never a 500, and a tag's spend is its own.
const ENV = { ADMIN: 'admin-secret' };
const T0 = Date.parse('2026-12-01T10:00:00Z');
let gateway: TestGateway;

const get = (path: string) =>
  fetch(`${gateway.url}/api/v1${path}`, { headers: { authorization: `Bearer ${ENV.ADMIN}` } });

beforeAll(async () => {
  gateway = await startGateway(
    `
admin:
  tokens:
    - { name: finance, token_env: ADMIN }
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:9 }
`,
    { env: ENV },
  );
  const ledger = gateway.deps.ledger;
  ledger.append(
    ledgerRow('k1-row', T0, {
      keyId: 'key_1',
      tags: { ab: 'plain', 'a"b': 'quoted' },
      costPico: usdToPico('0.25'),
    }),
  );
  ledger.append(ledgerRow('no-key-row', T0 + 1000, { costPico: usdToPico('0.5') }));
  await ledger.flush();
});

afterAll(async () => {
  await gateway.close();
});

describe('spend api filters and tag names', () => {
  it('filters spend by virtual key id instead of failing with 500', async () => {
    const res = await get('/spend?key=key_1');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { cost_usd: number; requests: number }[] };
    expect(body.data).toEqual([expect.objectContaining({ cost_usd: 0.25, requests: 1 })]);
  });

  it('refuses a tag name with a double quote instead of reading another tag', async () => {
    // Tag names are letters, digits, _ . - (as attribution.tags allows): a"b is bad input,
    // and must never be read as tag ab.
    const res = await get(`/spend?group_by=${encodeURIComponent('tag:a"b')}`);
    const text = await res.text();

    expect(res.status).toBe(400);
    expect(text).not.toContain('plain');
  });

  it('answers a tag name with a backslash with 200 or 400, not 500', async () => {
    const res = await get(`/spend?group_by=${encodeURIComponent('tag:\\')}`);
    expect([200, 400]).toContain(res.status);
  });
});
