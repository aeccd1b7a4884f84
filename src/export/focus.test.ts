import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { ledgerRow } from '../../test/support/rows.js';
import type { LedgerRow } from '../ledger/row.js';
import { computeCost } from '../pricing/cost.js';
import { createPricer } from '../pricing/pricer.js';
import { pricingSchema } from '../pricing/schema.js';
import { emptyUsage } from '../providers/types.js';
import { FOCUS_COLUMNS, FOCUS_MANDATORY_COLUMNS } from './focus-columns.js';
import { pricerBreakdown, rowsToFocus, scaledDecimal, type FocusOptions } from './focus.js';

const pricer = createPricer(
  pricingSchema.parse({
    models: {
      'gpt-x': { input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25 },
      'claude-y': {
        input_per_mtok: 3,
        output_per_mtok: 15,
        cached_input_per_mtok: 0.3,
        cache_write_per_mtok: 3.75,
      },
      'o-z': { input_per_mtok: 1.1, output_per_mtok: 4.4, cached_input_per_mtok: 0.275 },
      'long-w': {
        input_per_mtok: 0.000001,
        output_per_mtok: 0.0000037,
        tiers: [{ above_input_tokens: 5_000, input_per_mtok: 0.0000023 }],
      },
    },
  }),
  { catalogue: false },
);
const breakdown = pricerBreakdown(pricer);
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 31, 20, 0, 0);

/** Exact decimal text → integer of 10^-digits units. */
function scaled(text: string, digits: number): bigint {
  const [whole = '0', fraction = ''] = text.split('.');
  const negative = whole.startsWith('-');
  const value = BigInt(whole.replace('-', '') + fraction.padEnd(digits, '0'));
  return negative ? -value : value;
}

function storedCost(row: LedgerRow): bigint {
  const rates = pricer.resolve(row.resolvedModel ?? row.model, row.provider, row.timestampMs).rates;
  if (!rates) throw new Error('test model without rates');
  const usage = {
    ...emptyUsage(),
    inputTokens: row.inputTokens,
    cachedInputTokens: row.cachedInputTokens,
    cacheWriteTokens: row.cacheWriteTokens,
    outputTokens: row.outputTokens,
    reasoningTokens: row.reasoningTokens,
  };
  return computeCost(usage, rates);
}

async function runFocus(rows: Iterable<LedgerRow>, options: Partial<FocusOptions> = {}) {
  const out = rowsToFocus(rows, { breakdown, ...options });
  let text = '';
  for await (const chunk of out) text += chunk;
  const records = parse(text, { columns: true }) as Record<string, string>[];
  return { text, records, stats: out.stats };
}

/** 2,000 requests over several models, classes, hours and tenants, in time order. */
function generated(): LedgerRow[] {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  const models = ['gpt-x', 'claude-y', 'o-z', 'long-w'];
  const rows: LedgerRow[] = [];
  for (let i = 0; i < 2_000; i++) {
    const model = models[rand(models.length)]!;
    const inputTokens = 1 + rand(12_000);
    const outputTokens = rand(3_000);
    const row = ledgerRow(`r${i}`, T0 + Math.floor((i * 6 * HOUR) / 2_000), {
      model,
      resolvedModel: model,
      provider: model === 'claude-y' ? 'anthropic' : 'openai',
      upstream: model === 'claude-y' ? 'anthropic' : 'openai',
      org: `org${rand(3)}`,
      team: `team${rand(4)}`,
      user: `user${rand(7)}`,
      endpoint: rand(2) ? '/v1/chat/completions' : '/v1/messages',
      tags: rand(3) === 0 ? { feature: `f${rand(3)}`, env: 'prod' } : {},
      inputTokens,
      cachedInputTokens: rand(2) ? rand(inputTokens) : 0,
      cacheWriteTokens: model === 'claude-y' ? rand(Math.ceil(inputTokens / 4)) : 0,
      outputTokens,
      reasoningTokens: model === 'o-z' ? rand(outputTokens + 1) : 0,
    });
    row.costPico = storedCost(row);
    rows.push(row);
  }
  return rows;
}

describe('focus export: columns', () => {
  it('writes the 21 mandatory columns first in spec order and the x_ columns last', async () => {
    const { text } = await runFocus([
      ledgerRow('a', T0, { model: 'gpt-x', resolvedModel: 'gpt-x' }),
    ]);

    const header = text.slice(0, text.indexOf('\r\n')).split(',');
    expect(header).toEqual([...FOCUS_COLUMNS]);
    expect(header.slice(0, 21)).toEqual([...FOCUS_MANDATORY_COLUMNS]);
    expect(FOCUS_MANDATORY_COLUMNS).toHaveLength(21);
    expect(header.slice(-8)).toEqual([
      'x_org',
      'x_team',
      'x_user',
      'x_endpoint',
      'x_model',
      'x_resolved_model',
      'x_token_class',
      'x_requests',
    ]);
  });

  it('writes one charge of a request with exact values', async () => {
    const row = ledgerRow('a', T0 + 90_000, {
      model: 'gpt-x',
      resolvedModel: 'gpt-x',
      inputTokens: 1_000,
      cachedInputTokens: 200,
      outputTokens: 500,
      tags: { feature: 'search' },
    });
    row.costPico = storedCost(row);

    const { records } = await runFocus([row]);

    expect(records.map((r) => r.x_token_class)).toEqual(['input', 'cached_input', 'output']);
    expect(records[0]).toMatchObject({
      BilledCost: '0.002',
      BillingAccountId: 'openai',
      BillingCurrency: 'USD',
      BillingPeriodStart: '2026-01-01T00:00:00Z',
      BillingPeriodEnd: '2026-02-01T00:00:00Z',
      ChargeCategory: 'Usage',
      ChargeClass: '',
      ChargeDescription: 'gpt-x input tokens',
      ChargePeriodStart: '2026-01-31T20:00:00Z',
      ChargePeriodEnd: '2026-01-31T21:00:00Z',
      ContractedCost: '0.002',
      EffectiveCost: '0.002',
      InvoiceIssuerName: 'OpenAI',
      ListCost: '0.002',
      PricingQuantity: '0.0008',
      PricingUnit: '1000000 Tokens',
      ProviderName: 'OpenAI',
      PublisherName: 'OpenAI',
      ServiceCategory: 'AI and Machine Learning',
      ServiceName: 'OpenAI API',
      ChargeFrequency: 'Usage-Based',
      ConsumedQuantity: '800',
      ConsumedUnit: 'Tokens',
      ListUnitPrice: '2.5',
      ContractedUnitPrice: '2.5',
      SubAccountId: 'acme',
      x_org: 'acme',
      x_requests: '1',
    });
    expect(JSON.parse(records[0]?.Tags ?? '')).toEqual({
      feature: 'search',
      org: 'acme',
      team: 'search',
      user: 'alice',
      endpoint: '/v1/chat/completions',
    });
    expect(records.map((r) => r.BilledCost)).toEqual(['0.002', '0.00025', '0.005']);
  });
});

describe('focus export: exact money over 2,000 requests', () => {
  it('keeps PricingQuantity × ListUnitPrice = ListCost exactly on every row', async () => {
    const { records } = await runFocus(generated());

    expect(records.length).toBeGreaterThan(100);
    for (const r of records) {
      const product = scaled(r.PricingQuantity ?? '', 6) * scaled(r.ListUnitPrice ?? '', 12);
      expect(product).toBe(scaled(r.ListCost ?? '', 18));
      expect(r.ContractedCost).toBe(r.ListCost);
      expect(r.EffectiveCost).toBe(r.BilledCost);
    }
    // The sub-pico prices of `long-w` make rounding happen, so the test exercises it.
    expect(records.some((r) => r.ListCost !== r.BilledCost)).toBe(true);
  });

  it('sums BilledCost exactly to the ledger total, overall and per tenant', async () => {
    const rows = generated();
    const ledger = new Map<string, bigint>();
    for (const r of rows) ledger.set(r.org, (ledger.get(r.org) ?? 0n) + (r.costPico ?? 0n));
    const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);

    const { records, stats } = await runFocus(rows);

    const billed = new Map<string, bigint>();
    let sum = 0n;
    for (const r of records) {
      const pico = scaled(r.BilledCost ?? '', 12);
      sum += pico;
      billed.set(r.x_org ?? '', (billed.get(r.x_org ?? '') ?? 0n) + pico);
    }
    expect(sum).toBe(total);
    expect(stats.billedPico).toBe(total);
    expect(billed).toEqual(ledger);
    expect(stats.charges).toBe(records.length);
    expect(records.reduce((n, r) => n + Number(r.x_requests), 0)).toBeGreaterThanOrEqual(2_000);
  });

  it('still matches the ledger when stored costs no longer match current prices', async () => {
    const rows = generated().slice(0, 300);
    rows.forEach((r, i) => {
      if (i % 3 === 0) r.costPico = (r.costPico ?? 0n) + BigInt(i * 1_234_567);
    });
    const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);

    const { records } = await runFocus(rows);

    const sum = records.reduce((s, r) => s + scaled(r.BilledCost ?? '', 12), 0n);
    expect(sum).toBe(total);
  });

  it('gives the same total with daily buckets, in fewer rows', async () => {
    const rows = generated();
    const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);

    const hourly = await runFocus(rows);
    const daily = await runFocus(rows, { bucket: 'day' });

    expect(daily.records.length).toBeLessThan(hourly.records.length);
    expect(daily.stats.billedPico).toBe(total);
    expect(new Set(daily.records.map((r) => r.ChargePeriodStart))).toEqual(
      new Set(['2026-01-31T00:00:00Z', '2026-02-01T00:00:00Z']),
    );
    expect(daily.records.find((r) => r.ChargePeriodStart?.startsWith('2026-02'))).toMatchObject({
      BillingPeriodStart: '2026-02-01T00:00:00Z',
      BillingPeriodEnd: '2026-03-01T00:00:00Z',
    });
  });
});

describe('focus export: rows that are not charges', () => {
  it('skips and counts unpriced rows and zero-cost rows', async () => {
    const priced = ledgerRow('p', T0, { model: 'gpt-x', resolvedModel: 'gpt-x' });
    priced.costPico = storedCost(priced);
    const rows = [
      ledgerRow('u1', T0, { costPico: null, resolvedModel: null, model: 'mystery' }),
      priced,
      ledgerRow('u2', T0, { costPico: null, resolvedModel: null, model: 'mystery' }),
      ledgerRow('rej', T0, { costPico: 0n, decision: 'reject', model: 'gpt-x' }),
    ];

    const { records, stats } = await runFocus(rows);

    expect(stats).toMatchObject({ rowsRead: 4, skippedUnpriced: 2, skippedZeroCost: 1 });
    expect(records.every((r) => r.x_model === 'gpt-x')).toBe(true);
    expect(stats.billedPico).toBe(priced.costPico);
  });

  it('bills a priced row whose model lost its price as one total charge', async () => {
    const row = ledgerRow('gone', T0, { model: 'retired', resolvedModel: 'retired' });

    const { records } = await runFocus([row]);

    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      BilledCost: '0.001',
      ListCost: '0.001',
      ListUnitPrice: '',
      PricingQuantity: '0.00015',
      x_token_class: 'total',
    });
  });
});

describe('focus export: ordering', () => {
  it('keeps totals exact and counts late rows when rows are out of time order', async () => {
    const rows = generated().slice(0, 400);
    const shuffled = [...rows.slice(200), ...rows.slice(0, 200)];
    const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);

    const { stats } = await runFocus(shuffled);

    expect(stats.billedPico).toBe(total);
    expect(stats.lateRows).toBe(1);
  });

  it('separates charges of different attribution in the same hour', async () => {
    const a = ledgerRow('a', T0, { model: 'gpt-x', resolvedModel: 'gpt-x', team: 'red' });
    const b = ledgerRow('b', T0 + 1, { model: 'gpt-x', resolvedModel: 'gpt-x', team: 'blue' });
    const c = ledgerRow('c', T0 + 2, { model: 'gpt-x', resolvedModel: 'gpt-x', team: 'red' });
    for (const r of [a, b, c]) r.costPico = storedCost(r);

    const { records } = await runFocus([a, b, c]);

    const inputs = records.filter((r) => r.x_token_class === 'input');
    expect(inputs.map((r) => [r.x_team, r.x_requests, r.ConsumedQuantity])).toEqual([
      ['red', '2', '200'],
      ['blue', '1', '100'],
    ]);
  });
});

describe('focus export: decimals', () => {
  it('writes scaled integers as plain decimals', () => {
    expect(scaledDecimal(1n, 18)).toBe('0.000000000000000001');
    expect(scaledDecimal(-1_500_000n, 6)).toBe('-1.5');
    expect(scaledDecimal(0n, 6)).toBe('0');
    expect(scaledDecimal(42_000_000n, 6)).toBe('42');
  });
});
