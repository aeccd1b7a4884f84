/**
 * `GET /api/v1/budgets` with many tenants: `limit` keeps the most used instances, `q` finds
 * any one of them, `total` says how many matched, and a scoped token stays in its scope.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { openSqliteLedger } from '../../src/ledger/sqlite.js';
import { silentLogger } from '../../src/log/logger.js';
import { ADMIN_ENV, ADMIN_YAML, admin } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { ledgerRow } from '../support/rows.js';

const NOW = Date.parse('2026-05-20T15:00:00Z');
const ORGS = 1500;
const HOUR = 3_600_000;

const YAML = `${ADMIN_YAML}
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:9 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 10, period: 1d }
`;

let gateway: TestGateway;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-budgets-list-'));
  const ledger = openSqliteLedger({ path: join(dir, 'ledger.db'), logger: silentLogger() });
  // org-00000 spent $0.001 today, org-00001 $0.002, ... org-01499 $1.50; acme spent $0.0025.
  for (let i = 0; i < ORGS; i++) {
    const org = `org-${String(i).padStart(5, '0')}`;
    ledger.append(ledgerRow(`r${i}`, NOW - HOUR, { org, costPico: BigInt(i + 1) * 10n ** 9n }));
  }
  ledger.append(ledgerRow('acme-1', NOW - 2 * HOUR, { org: 'acme', costPico: 2_500_000_000n }));
  await ledger.flush();
  gateway = await startGateway(YAML, { env: ADMIN_ENV, clock: fakeClock(NOW), ledger });
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

type Entry = { name: string; scope: Record<string, string>; spent_usd: number };

async function budgets(query: string, token?: string) {
  const answer = await admin(gateway.url, 'GET', `/budgets?${query}`, { token });
  const json = answer.json as { data: Entry[]; total?: number };
  return { status: answer.status, text: answer.text, ...json };
}

describe('GET /api/v1/budgets with many tenants', () => {
  it('keeps the most used instances and counts every one', async () => {
    const { status, data, total, text } = await budgets('limit=3');

    expect(status).toBe(200);
    expect(data.map((b) => [b.scope.org, b.spent_usd])).toEqual([
      ['org-01499', 1.5],
      ['org-01498', 1.499],
      ['org-01497', 1.498],
    ]);
    expect(total).toBe(ORGS + 1);
    expect(text).toContain('"utilization":0.15,');
  });

  it('finds one tenant by a part of its name, in any case', async () => {
    const { data, total } = await budgets('q=ORG-0004&limit=2');
    const acme = await budgets('q=acme');

    // org-00040 .. org-00049 match: the two most used are the last two.
    expect(data.map((b) => [b.scope.org, b.spent_usd])).toEqual([
      ['org-00049', 0.05],
      ['org-00048', 0.049],
    ]);
    expect(total).toBe(10);
    expect(acme.data).toHaveLength(1);
    expect(acme.data[0]).toMatchObject({ name: 'org-daily', scope: { org: 'acme' } });
    expect(acme.text).toContain('"spent_usd":0.0025,');
    expect(acme.total).toBe(1);
  });

  it('lists everything, without a total, when neither is given', async () => {
    const { data, total } = await budgets('');

    expect(data).toHaveLength(ORGS + 1);
    expect(data[0]?.scope.org).toBe('org-01499');
    expect(total).toBeUndefined();
  });

  it('keeps a scoped token to its org, whatever it searches for', async () => {
    const own = await budgets('limit=20', ADMIN_ENV.ACME_TOKEN);
    const other = await budgets('q=org-0&limit=20', ADMIN_ENV.ACME_TOKEN);

    expect(own.data.map((b) => b.scope.org)).toEqual(['acme']);
    expect(own.total).toBe(1);
    expect(other.data).toEqual([]);
    expect(other.total).toBe(0);
  });

  it('refuses a limit above 1000', async () => {
    const answer = await admin(gateway.url, 'GET', '/budgets?limit=1001');

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      error: {
        message: 'limit must be a whole number from 1 to 1000',
        type: 'invalid_request',
        code: 'invalid_request',
      },
    });
  });
});
