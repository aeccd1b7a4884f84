import { describe, expect, it } from 'vitest';
import { fromParts, toParts } from './redis-amounts.js';

describe('pico-dollars as Lua-safe integer pairs', () => {
  it('splits into micro-dollars and a pico remainder, and back', () => {
    expect(toParts(1_000_000_000_000_000_001n)).toEqual(['1000000000000', '1']);
    expect(fromParts(1_000_000_000_000, 1)).toBe(1_000_000_000_000_000_001n);
  });

  it('keeps the remainder positive for negative amounts', () => {
    expect(toParts(-1n)).toEqual(['-1', '999999']);
    expect(fromParts(-1, 999_999)).toBe(-1n);
  });

  it('bounds an amount whose micro-dollars a double cannot hold exactly, instead of throwing', () => {
    expect(toParts(2n ** 53n * 1_000_000n)).toEqual(['9007199254740991', '0']);
    expect(toParts(-(10n ** 30n))).toEqual(['-9007199254740991', '0']);
    expect(toParts((2n ** 53n - 1n) * 1_000_000n)).toEqual(['9007199254740991', '0']);
  });
});
