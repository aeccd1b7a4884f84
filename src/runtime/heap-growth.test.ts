import { describe, expect, it } from 'vitest';
import { boundHeapGrowth } from './heap-growth.js';

describe('boundHeapGrowth', () => {
  it('leaves an operator’s own --heap-growing-percent as given', () => {
    expect(boundHeapGrowth(['--heap-growing-percent=200'])).toBe(false);
    expect(boundHeapGrowth(['--enable-source-maps', '--heap_growing_percent=10'])).toBe(false);
  });

  it('sets the bound otherwise', () => {
    expect(boundHeapGrowth(['--enable-source-maps'])).toBe(true);
    expect(boundHeapGrowth([])).toBe(true);
  });
});
