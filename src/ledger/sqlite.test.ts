import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger.js';
import type { LedgerRow } from './row.js';
import { openSqliteLedger } from './sqlite.js';
import { ledgerRow } from '../../test/support/rows.js';

// The rows these tests write: small, priced, with one tag.
function row(id: string, ts: number, extra: Partial<LedgerRow> = {}): LedgerRow {
  return ledgerRow(id, ts, {
    team: 't',
    user: 'u',
    inputTokens: 10,
    outputTokens: 5,
    costPico: 75_000_000n,
    priceSource: 'catalogue',
    latencyMs: 12,
    tags: { app: 'x' },
    countedInputTokens: 10,
    ...extra,
  });
}

describe('sqlite ledger', () => {
  it('writes batched rows and reads them back exactly, newest first', async () => {
    const ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    ledger.append(row('a', 1000, { costPico: 9_007_199_254_740_993n }));
    ledger.append(row('b', 2000, { costPico: null, flags: ['unpriced_model'] }));
    expect(ledger.pending()).toBe(2);

    await ledger.flush();

    const { rows } = ledger.queryRequests({}, 10);
    expect(ledger.pending()).toBe(0);
    expect(rows.map((r) => r.requestId)).toEqual(['b', 'a']);
    expect(rows[1]?.costPico).toBe(9_007_199_254_740_993n);
    expect(rows[0]).toMatchObject({
      costPico: null,
      flags: ['unpriced_model'],
      tags: { app: 'x' },
    });
    await ledger.close();
  });

  it('keeps one row per request id even when a row is appended twice', async () => {
    const ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    ledger.append(row('a', 1000));
    ledger.append(row('a', 1000));

    await ledger.flush();

    expect(ledger.queryRequests({}, 10).rows).toHaveLength(1);
    await ledger.close();
  });

  it('pages by cursor and filters on dimensions and tags', async () => {
    const ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    for (let i = 0; i < 5; i++)
      ledger.append(row(`r${i}`, 1000 + i, { org: i % 2 ? 'beta' : 'acme' }));
    await ledger.flush();

    const first = ledger.queryRequests({ org: 'acme' }, 2);
    const second = ledger.queryRequests({ org: 'acme' }, 2, first.nextCursor);

    expect(first.rows.map((r) => r.requestId)).toEqual(['r4', 'r2']);
    expect(second.rows.map((r) => r.requestId)).toEqual(['r0']);
    expect(second.nextCursor).toBeNull();
    expect(ledger.queryRequests({ tags: { app: 'nope' } }, 10).rows).toEqual([]);
    await ledger.close();
  });
});

describe('sqlite ledger: spend sums', () => {
  it('groups exact spend by dimensions and tags, and skips unpriced rows', async () => {
    const ledger = openSqliteLedger({ path: ':memory:', logger: silentLogger() });
    ledger.append(row('a', 1000, { org: 'acme', costPico: 1n }));
    ledger.append(row('b', 2000, { org: 'acme', costPico: 2n, tags: { app: 'y' } }));
    ledger.append(row('c', 3000, { org: 'beta', costPico: null }));
    await ledger.flush();

    const byOrg = ledger.sumSpend({}, ['org']);
    const byTag = ledger.sumSpend({ org: 'acme' }, ['tag:app']);
    const since = ledger.sumSpend({ fromMs: 2000 }, []);

    expect(byOrg).toEqual([
      { values: { org: 'acme' }, costPico: 3n, requests: 2, inputTokens: 20, outputTokens: 10 },
      { values: { org: 'beta' }, costPico: 0n, requests: 1, inputTokens: 10, outputTokens: 5 },
    ]);
    expect(byTag.map((g) => [g.values['tag:app'], g.costPico])).toEqual([
      ['x', 1n],
      ['y', 2n],
    ]);
    expect(since[0]?.costPico).toBe(2n);
    await ledger.close();
  });
});
