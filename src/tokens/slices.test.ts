import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadEncoding } from './encodings.js';
import { countSliced, DENSE_EXACT_CHARS, SLICE_CHARS } from './slices.js';

const o200k = loadEncoding('o200k_base');

function sumOfSlices(text: string): number {
  let tokens = 0;
  for (let i = 0; i < text.length; i += SLICE_CHARS) {
    tokens += o200k(text.slice(i, i + SLICE_CHARS));
  }
  return tokens;
}

describe('slices: long texts are counted piecewise', () => {
  it('counts a short text in one call', () => {
    expect(countSliced(o200k, 'hello world')).toBe(2);
  });

  it('counts long prose exactly as the whole text', () => {
    const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(2_000);

    expect(prose.length).toBeGreaterThan(20 * SLICE_CHARS);
    expect(countSliced(o200k, prose)).toBe(o200k(prose));
  });

  it('counts prose with newlines and no spaces near the cut exactly', () => {
    const lines = Array.from({ length: 3_000 }, (_, i) => `line_${i}:value_${i * 7}`).join('\n');

    expect(countSliced(o200k, lines)).toBe(o200k(lines));
  });

  it('counts a 1 MB run without whitespace as the sum of its slices', () => {
    const run = 'a'.repeat(1_000_000);

    const tokens = countSliced(o200k, run);

    expect(tokens).toBe(125_000);
    expect(tokens).toBe(sumOfSlices(run));
  });

  it('counts a run up to the exact budget as the sum of its slices', () => {
    const run = randomBytes((DENSE_EXACT_CHARS * 3) / 4).toString('base64');

    expect(run.length).toBe(DENSE_EXACT_CHARS);
    expect(countSliced(o200k, run)).toBe(sumOfSlices(run));
  });

  it('extrapolates 1 MB of random base64 past the exact budget within 2%', () => {
    const run = randomBytes(750_000).toString('base64');

    const tokens = countSliced(o200k, run);
    const exact = sumOfSlices(run);

    expect(Math.abs(tokens - exact) / exact).toBeLessThan(0.02);
  });

  it('never cuts a surrogate pair in half', () => {
    const emoji = '😀'.repeat(SLICE_CHARS);

    expect(countSliced(o200k, emoji)).toBe(o200k(emoji));
  });
});
