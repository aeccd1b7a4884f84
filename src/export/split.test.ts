import { describe, expect, it } from 'vitest';
import { csvLine } from './csv.js';
import { splitCsv, type CsvFile } from './split.js';

async function files(chunks: Iterable<string>, maxRows: number, maxBytes: number) {
  const out: CsvFile[] = [];
  for await (const file of splitCsv(chunks, { maxRows, maxBytes })) out.push(file);
  return out;
}

const HEADER = csvLine(['id', 'note']);

function csv(n: number, note = 'x'): string {
  let text = HEADER;
  for (let i = 0; i < n; i++) text += csvLine([`r${i}`, note]);
  return text;
}

describe('csv split: limits', () => {
  it('starts every file with the header and keeps each within the row limit', async () => {
    const out = await files([csv(25)], 10, 1_000_000);

    expect(out.map((f) => f.rows)).toEqual([10, 10, 5]);
    for (const f of out) expect(f.text.startsWith(HEADER)).toBe(true);
    expect(out.map((f) => f.text.slice(HEADER.length)).join('')).toBe(csv(25).slice(HEADER.length));
  });

  it('keeps each file within the byte limit, counting UTF-8 bytes', async () => {
    const text = csv(40, 'Zürich 東京');
    const maxBytes = 200;

    const out = await files([text], 10_000, maxBytes);

    expect(out.length).toBeGreaterThan(1);
    for (const f of out) {
      expect(Buffer.byteLength(f.text)).toBe(f.bytes);
      expect(f.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(out.reduce((n, f) => n + f.rows, 0)).toBe(40);
  });

  it('never splits a record, even with a line break inside quotes or across chunks', async () => {
    const text =
      HEADER + csvLine(['a', 'one\r\ntwo']) + csvLine(['b', '"q"']) + csvLine(['c', 'z']);
    const chunks = text.match(/[\s\S]{1,3}/g) ?? [];

    const out = await files(chunks, 1, 1_000);

    expect(out.map((f) => f.text.slice(HEADER.length))).toEqual([
      csvLine(['a', 'one\r\ntwo']),
      csvLine(['b', '"q"']),
      csvLine(['c', 'z']),
    ]);
  });

  it('writes a header-only file for a stream without rows', async () => {
    expect((await files([HEADER], 10, 100)).map((f) => f.text)).toEqual([HEADER]);
  });

  it('refuses a record larger than a file can hold', async () => {
    await expect(files([csv(1, 'y'.repeat(500))], 10, 100)).rejects.toThrow('does not fit');
  });

  it('splits at the Vantage limits by default', async () => {
    const out: CsvFile[] = [];
    for await (const file of splitCsv([csv(10_001)])) out.push(file);

    expect(out.map((f) => f.rows)).toEqual([10_000, 1]);
  });
});
