import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEvent } from '../../src/events/event.js';
import { ledgerRows } from '../../src/export/formats.js';
import type { Ledger, SpendBucketRow, SpendQuery } from '../../src/ledger/ledger.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import type { KillSwitch } from '../../src/policy/kill-switch.js';
import { ledgerRow } from './rows.js';
import {
  canonical,
  D,
  expected,
  generate,
  GRANULARITIES,
  GROUPINGS,
  H,
  START,
  ZONES,
} from './spend-fixture.js';

/** A ledger under test, with the raw-rows spend query that checks its rollups. */
export type ContractLedger = Ledger & {
  querySpendRaw(query: SpendQuery): Promise<SpendBucketRow[]>;
};

/** Opens a fresh, empty ledger; `dispose` closes it and removes what it stored. */
export type OpenContractLedger = () => Promise<{
  ledger: ContractLedger;
  dispose(): Promise<void>;
}>;

// The rows the small tests write: priced, with one tag.
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

function event(id: string, ts: number, extra: Partial<GatewayEvent> = {}): GatewayEvent {
  return {
    id,
    timestampMs: ts,
    type: 'rejection',
    scope: { org: 'acme' },
    message: `event ${id}`,
    data: { reason: 'budget_exceeded', spent_usd: '1.5' },
    actor: null,
    ...extra,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * The behaviour every ledger owes the gateway: exact costs, one row per request id, paged reads,
 * spend sums that equal the raw rows (rollups included), events and kill switches. Run once per
 * implementation, as `ledgerContract('sqlite', open)`.
 */
export function ledgerContract(name: string, open: OpenContractLedger): void {
  const fresh = async <T>(use: (ledger: ContractLedger) => Promise<T>): Promise<T> => {
    const { ledger, dispose } = await open();
    try {
      return await use(ledger);
    } finally {
      await dispose();
    }
  };

  describe(`${name} ledger: rows`, () => {
    it('writes batched rows and reads them back exactly, newest first', async () => {
      await fresh(async (ledger) => {
        ledger.append(row('a', 1000, { costPico: 9_007_199_254_740_993n }));
        ledger.append(row('b', 2000, { costPico: null, flags: ['unpriced_model'] }));
        ledger.append(
          row('c', 3000, {
            streamed: true,
            user: 'Zoë "quoted" \'user\'',
            keyId: 'key_1',
            tags: { app: 'y', note: '=1+1' },
            status: 499,
            decision: 'error',
            reason: 'client_disconnected',
          }),
        );

        await ledger.flush();

        const { rows } = await ledger.queryRequests({}, 10);
        expect(ledger.pending()).toBe(0);
        expect(ledger.health()).toEqual({ state: 'ok', spooledRows: 0 });
        expect(rows.map((r) => r.requestId)).toEqual(['c', 'b', 'a']);
        expect(rows[2]?.costPico).toBe(9_007_199_254_740_993n);
        expect(rows[1]).toMatchObject({ costPico: null, flags: ['unpriced_model'] });
        expect(rows[0]).toEqual(
          row('c', 3000, {
            streamed: true,
            user: 'Zoë "quoted" \'user\'',
            keyId: 'key_1',
            tags: { app: 'y', note: '=1+1' },
            status: 499,
            decision: 'error',
            reason: 'client_disconnected',
          }),
        );
      });
    });

    it('keeps one row per request id, in a batch and across batches, counted once', async () => {
      await fresh(async (ledger) => {
        ledger.append(row('a', 1000, { costPico: 5n }));
        ledger.append(row('a', 1000, { costPico: 7n }));
        await ledger.flush();
        ledger.append(row('a', 1000, { costPico: 11n }));
        await ledger.flush();

        const { rows } = await ledger.queryRequests({}, 10);
        const [spend] = await ledger.querySpend({ groupBy: [], filter: {} });
        const [hourly] = await ledger.querySpend({
          groupBy: ['user'],
          granularity: 'hour',
          filter: {},
        });

        expect(rows.map((r) => [r.requestId, r.costPico])).toEqual([['a', 5n]]);
        expect(spend).toMatchObject({ costPico: 5n, requests: 1 });
        expect(hourly).toMatchObject({ costPico: 5n, requests: 1 });
      });
    });

    it('pages by cursor and filters on dimensions and tags', async () => {
      await fresh(async (ledger) => {
        for (let i = 0; i < 5; i++)
          ledger.append(row(`r${i}`, 1000 + i, { org: i % 2 ? 'beta' : 'acme' }));
        await ledger.flush();

        const first = await ledger.queryRequests({ org: 'acme' }, 2);
        const second = await ledger.queryRequests({ org: 'acme' }, 2, first.nextCursor);

        expect(first.rows.map((r) => r.requestId)).toEqual(['r4', 'r2']);
        expect(second.rows.map((r) => r.requestId)).toEqual(['r0']);
        expect(second.nextCursor).toBeNull();
        expect((await ledger.queryRequests({ tags: { app: 'nope' } }, 10)).rows).toEqual([]);
        expect(
          (await ledger.queryRequests({ tags: { app: 'x' }, fromMs: 1003 }, 10)).rows.map(
            (r) => r.requestId,
          ),
        ).toEqual(['r4', 'r3']);
      });
    });

    it('scans oldest first by a keyset, through equal timestamps, for exports', async () => {
      await fresh(async (ledger) => {
        // Ids sort as bytes: r10 before r9; three rows share each timestamp.
        for (let i = 0; i < 2_500; i++) ledger.append(row(`r${i}`, 1_000 + Math.floor(i / 3)));
        ledger.append(row('other', 1_000, { org: 'beta' }));
        await ledger.flush();

        const page = await ledger.scanRows({ org: 'acme' }, { ts: 1_000, id: 'r1' }, 3);
        const all = await collect(ledgerRows(ledger, { org: 'acme' }));
        const ranged = await collect(ledgerRows(ledger, { fromMs: 1_010, toMs: 1_012 }));

        expect(page.map((r) => r.requestId)).toEqual(['r2', 'r3', 'r4']);
        expect(all).toHaveLength(2_500);
        expect(new Set(all.map((r) => r.requestId)).size).toBe(2_500);
        const order = all.map((r) => [r.timestampMs, r.requestId] as const);
        const sorted = [...order].sort((a, b) =>
          a[0] !== b[0] ? a[0] - b[0] : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
        );
        expect(order).toEqual(sorted);
        expect(ranged.map((r) => r.requestId)).toEqual(['r30', 'r31', 'r32', 'r33', 'r34', 'r35']);
      });
    });

    it('lists charged rows, or every served one, in admission order across pages', async () => {
      await fresh(async (ledger) => {
        for (let i = 0; i < 5_003; i++) {
          ledger.append(
            row(`s${String(i).padStart(5, '0')}`, 10_000 + Math.floor(i / 2), {
              costPico: i % 10 === 0 ? 0n : BigInt(i),
              decision: i % 7 === 0 ? 'reject' : 'allow',
              keyId: i % 2 ? 'k1' : null,
            }),
          );
        }
        ledger.append(row('early', 9_999, { costPico: 3n }));
        await ledger.flush();

        const charged = await collect(ledger.spendRows(10_000));
        const served = await collect(ledger.spendRows(10_000, { served: true }));

        const chargedWant = Array.from({ length: 5_003 }, (_, i) => i).filter((i) => i % 10 !== 0);
        expect(charged.map((r) => r.costPico)).toEqual(chargedWant.map(BigInt));
        expect(charged.reduce((sum, r) => sum + r.costPico, 0n)).toBe(
          chargedWant.reduce((sum, i) => sum + BigInt(i), 0n),
        );
        expect(served).toHaveLength(5_003 - Math.ceil(5_003 / 7));
        expect(served[0]).toEqual({
          dims: {
            org: 'acme',
            team: 't',
            user: 'u',
            endpoint: '/v1/chat/completions',
            model: 'gpt-4o',
            provider: 'openai',
            key: 'k1',
            tags: { app: 'x' },
          },
          costPico: 1n,
          tokens: 15,
          atMs: 10_000,
        });
      });
    });
  });

  describe(`${name} ledger: spend sums`, () => {
    it('groups exact spend by dimensions and tags, and counts unpriced rows apart', async () => {
      await fresh(async (ledger) => {
        ledger.append(row('a', 1000, { org: 'acme', costPico: 1n }));
        ledger.append(row('b', 2000, { org: 'acme', costPico: 2n, tags: { app: 'y' } }));
        ledger.append(row('c', 3000, { org: 'beta', costPico: null, flags: ['unpriced_model'] }));
        // No cost either, but unmetered: not a model without a price.
        ledger.append(row('d', 3500, { org: 'beta', costPico: null, flags: ['unmetered'] }));
        await ledger.flush();

        const byOrg = await ledger.querySpend({ groupBy: ['org'], filter: {} });
        const byTag = await ledger.querySpend({ groupBy: ['tag:app'], filter: { org: 'acme' } });
        const since = await ledger.querySpend({ groupBy: [], filter: { fromMs: 2000 } });

        const sort = <T extends { values: Record<string, string | null> }>(groups: T[]) =>
          [...groups].sort((x, y) =>
            JSON.stringify(x.values) < JSON.stringify(y.values) ? -1 : 1,
          );
        expect(sort(byOrg)).toEqual([
          {
            values: { org: 'acme' },
            costPico: 3n,
            requests: 2,
            inputTokens: 20,
            outputTokens: 10,
            cachedInputTokens: 0,
            unpricedRequests: 0,
          },
          {
            values: { org: 'beta' },
            costPico: 0n,
            requests: 2,
            inputTokens: 20,
            outputTokens: 10,
            cachedInputTokens: 0,
            unpricedRequests: 1,
          },
        ]);
        expect(sort(byTag).map((g) => [g.values['tag:app'], g.costPico])).toEqual([
          ['x', 1n],
          ['y', 2n],
        ]);
        expect(since.map((g) => [g.costPico, g.requests, g.unpricedRequests])).toEqual([
          [2n, 3, 1],
        ]);
      });
    });
  });

  describe(`${name} ledger: spend query equals the raw rows`, () => {
    let ledger: ContractLedger;
    let dispose: () => Promise<void>;
    const rows = generate(3000);

    beforeAll(async () => {
      ({ ledger, dispose } = await open());
      for (const r of rows) ledger.append(r);
      await ledger.flush();
    });

    afterAll(async () => {
      await dispose();
    });

    for (const tz of ZONES) {
      it(`groups every way by every granularity in ${tz}, exactly`, async () => {
        for (const granularity of GRANULARITIES) {
          for (const groupBy of GROUPINGS) {
            const q: SpendQuery = { groupBy, granularity, tz, filter: {} };
            const want = expected(rows, q);
            expect(canonical(await ledger.querySpend(q))).toEqual(want);
            expect(canonical(await ledger.querySpendRaw(q))).toEqual(want);
          }
        }
      });
    }

    it('honours hour-aligned and partial ranges, filters and tag filters', async () => {
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
          expect(canonical(await ledger.querySpend(q))).toEqual(expected(rows, q));
          expect(canonical(await ledger.querySpendRaw(q))).toEqual(expected(rows, q));
        }
      }
    });

    it('sums everything into one group when nothing is grouped', async () => {
      const [all] = await ledger.querySpend({ groupBy: [], filter: {} });
      const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);

      expect(all?.costPico).toBe(total);
      expect(all?.requests).toBe(3000);
    });

    it('sorts rows by cost, highest first', async () => {
      const result = await ledger.querySpend({ groupBy: ['user'], granularity: 'day', filter: {} });

      expect(result.length).toBeGreaterThan(100);
      for (let i = 1; i < result.length; i++) {
        expect(
          (result[i - 1] as SpendBucketRow).costPico >= (result[i] as SpendBucketRow).costPico,
        ).toBe(true);
      }
    });

    it('answers an empty range or an empty ledger with no rows', async () => {
      const q: SpendQuery = {
        groupBy: ['org'],
        granularity: 'day',
        fromMs: START - 10 * D,
        toMs: START - 9 * D,
        filter: {},
      };

      expect(await ledger.querySpend(q)).toEqual([]);
      expect(
        await fresh((empty) =>
          empty.querySpend({ groupBy: ['org'], granularity: 'hour', filter: {} }),
        ),
      ).toEqual([]);
    });
  });

  describe(`${name} ledger: events and kill switches`, () => {
    it('keeps events once, newest first, filtered by type, time and scope', async () => {
      await fresh(async (ledger) => {
        ledger.events.append(event('e1', 1000));
        ledger.events.append(event('e2', 2000, { type: 'warning', scope: { org: 'beta' } }));
        ledger.events.append(event('e3', 3000, { actor: 'finance' }));
        ledger.events.append(event('e3', 3000, { actor: 'finance' }));
        await ledger.flush();

        const all = await ledger.events.query({ limit: 10 });
        const rejections = await ledger.events.query({ type: 'rejection', limit: 10 });
        const recent = await ledger.events.query({ sinceMs: 2000, limit: 10 });
        const beta = await ledger.events.query({ scope: { org: 'beta' }, limit: 10 });
        const one = await ledger.events.query({ limit: 1 });

        expect(all.map((e) => e.id)).toEqual(['e3', 'e2', 'e1']);
        expect(all[0]).toEqual(event('e3', 3000, { actor: 'finance' }));
        expect(rejections.map((e) => e.id)).toEqual(['e3', 'e1']);
        expect(recent.map((e) => e.id)).toEqual(['e3', 'e2']);
        expect(beta.map((e) => e.id)).toEqual(['e2']);
        expect(one.map((e) => e.id)).toEqual(['e3']);
      });
    });

    it('saves, replaces, loads and deletes kill switches', async () => {
      await fresh(async (ledger) => {
        const block: KillSwitch = {
          id: 'ks_1',
          dimension: 'org',
          value: 'acme',
          expires_at: 5_000,
          reason: 'runaway agent',
          created_by: 'finance',
        };
        await ledger.killSwitches.save(block, 1_000);
        await ledger.killSwitches.save(
          { id: 'ks_2', dimension: 'tag:app', value: 'batch', created_by: 'ops' },
          1_001,
        );
        await ledger.killSwitches.save({ ...block, value: 'acme-2' }, 1_002);

        const loaded = await ledger.killSwitches.load();
        const deleted = await ledger.killSwitches.delete('ks_2');
        const again = await ledger.killSwitches.delete('ks_2');

        expect([...loaded].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual([
          { ...block, value: 'acme-2' },
          {
            id: 'ks_2',
            dimension: 'tag:app',
            value: 'batch',
            expires_at: undefined,
            reason: undefined,
            created_by: 'ops',
          },
        ]);
        expect([deleted, again]).toEqual([true, false]);
        expect((await ledger.killSwitches.load()).map((k) => k.id)).toEqual(['ks_1']);
      });
    });
  });
}
