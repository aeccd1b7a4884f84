import { PICO_PER_USD, picoToDecimal, usdToPico, type Pico } from '../../money/money.js';

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
// Below a cent two decimals would print $0.00 for a real spend; the CLI and alerts do the same.
const USD_SMALL = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumSignificantDigits: 2,
});
const CENT_PICO = PICO_PER_USD / 100n;

/** Money for people, from exact pico-dollars: `$1,234.56`, or two significant digits below 1¢. */
export function formatUsd(pico: Pico): string {
  // Intl formats the decimal string exactly; a float could round $0.125 down.
  const text = picoToDecimal(pico) as `${number}`;
  const abs = pico < 0n ? -pico : pico;
  return pico !== 0n && abs < CENT_PICO ? USD_SMALL.format(text) : USD.format(text);
}

/** A USD amount for a chart axis or tooltip, where a float is precise enough. */
export function formatUsdNumber(usd: number): string {
  return usd !== 0 && Math.abs(usd) < 0.01 ? USD_SMALL.format(usd) : USD.format(usd);
}

/** The money fields of admin API answers, read as exact pico-dollars instead of floats. */
const MONEY_KEYS: ReadonlySet<string> = new Set([
  'cost_usd',
  'spent_usd',
  'reserved_usd',
  'limit_usd',
]);

/**
 * Parses an admin API answer with its money fields as pico-dollar bigints. The API prints exact
 * decimals (`0.000000000001`); browsers with JSON.parse source text access read those digits,
 * so sums of many rows stay exact. Older browsers fall back to the float, which is exact to the
 * digits a person reads.
 */
export function parseApiJson(text: string): unknown {
  return JSON.parse(text, function revive(key, value, context?: { source?: string }) {
    if (!MONEY_KEYS.has(key) || typeof value !== 'number') return value;
    return usdToPico(context?.source ?? value);
  });
}

/** The sum of pico amounts. */
export function sumPico(values: Iterable<Pico>): Pico {
  let total = 0n;
  for (const value of values) total += value;
  return total;
}

/** Pico-dollars as a float of USD, for charts only. */
export function picoToUsdNumber(pico: Pico): number {
  return Number(picoToDecimal(pico));
}
