/**
 * Pico-dollar amounts as Lua can hold them. Lua numbers are doubles, exact only up to 2^53
 * (about $9,007 in pico-dollars), so each amount travels and is stored as two integers: whole
 * micro-dollars and a pico remainder in [0, 1e6). Micro-dollars stay exact up to 2^53 micro
 * (about $9 billion), far above any budget, and the scripts compare the pairs lexicographically.
 */
import type { Pico } from '../money/money.js';

const MICRO = 1_000_000n;
const EXACT_LIMIT = 2n ** 53n;

/** An amount split into `[micro-dollars, pico remainder]`, as decimal strings for ARGV. */
export function toParts(amount: Pico): [string, string] {
  let remainder = amount % MICRO;
  if (remainder < 0n) remainder += MICRO;
  const micros = (amount - remainder) / MICRO;
  if (micros >= EXACT_LIMIT || micros <= -EXACT_LIMIT) {
    throw new RangeError('an amount above $9,007,199,254 cannot be counted exactly in Redis');
  }
  return [micros.toString(), remainder.toString()];
}

/** The amount a script returned as two integers. */
export function fromParts(micros: unknown, remainder: unknown): Pico {
  return BigInt(asInteger(micros)) * MICRO + BigInt(asInteger(remainder));
}

/** A script reply field that must be an integer (Redis turns Lua numbers into integer replies). */
export function asInteger(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new TypeError('unexpected reply from a counter script');
  }
  return n;
}

/** A script reply field holding a double written with `%.17g`, which round-trips exactly. */
export function asDouble(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || Number.isNaN(n)) {
    throw new TypeError('unexpected reply from a counter script');
  }
  return n;
}
