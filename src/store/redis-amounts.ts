/**
 * Pico-dollar amounts as Lua can hold them. Lua numbers are doubles, exact only up to 2^53
 * (about $9,007 in pico-dollars), so each amount travels and is stored as two integers: whole
 * micro-dollars and a pico remainder in [0, 1e6). Micro-dollars stay exact up to 2^53 micro
 * (about $9 billion), far above any budget, and the scripts compare the pairs lexicographically.
 * Larger amounts are bounded (see {@link toParts}), never allowed to fail a call.
 */
import type { Pico } from '../money/money.js';

const MICRO = 1_000_000n;
const EXACT_LIMIT = 2n ** 53n;

/** The largest amount a counter field can hold exactly: 2^53 - 1 whole micro-dollars. */
export const MAX_EXACT_PICO = (EXACT_LIMIT - 1n) * MICRO;

/**
 * The most one charge (a reservation a budget cannot refuse, or a commit) adds to a counter:
 * 2^50 micro-dollars, about $1.1 billion. No real request costs that much, and several such
 * charges still sum exactly below 2^53.
 */
export const MAX_CHARGE_PICO = 2n ** 50n * MICRO;

/**
 * An amount split into `[micro-dollars, pico remainder]`, as decimal strings for ARGV. An amount
 * past what a double holds exactly is taken as the largest one that fits: throwing instead would
 * make the whole reserve fail, and the engine would serve the request as if Redis were down.
 */
export function toParts(amount: Pico): [string, string] {
  const bounded =
    amount > MAX_EXACT_PICO ? MAX_EXACT_PICO : amount < -MAX_EXACT_PICO ? -MAX_EXACT_PICO : amount;
  let remainder = bounded % MICRO;
  if (remainder < 0n) remainder += MICRO;
  const micros = (bounded - remainder) / MICRO;
  return [micros.toString(), remainder.toString()];
}

/** The smaller of two amounts. */
export function minPico(a: Pico, b: Pico): Pico {
  return a < b ? a : b;
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
