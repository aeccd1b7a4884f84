/** Money for people (alerts, terminal tables); exports and the API print exact decimals. */
import { picoToDecimal } from './money.js';

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
// Below a cent, two decimals would print $0.00 for a real (if small) spend.
const USD_SMALL = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumSignificantDigits: 2,
});
/** Money for people: `$1,234.56`, or two significant digits below one cent. */
export function formatUsd(usd: number): string {
  if (usd !== 0 && Math.abs(usd) < 0.01) return USD_SMALL.format(usd);
  return USD.format(usd);
}

/**
 * Amounts for one table column and its total: exact decimals (no rounding), every one with as
 * many fraction digits as the longest needs (at least two), so the column lines up and its
 * figures add up to the total as printed.
 */
export function formatUsdColumn(picos: readonly bigint[]): string[] {
  const texts = picos.map(picoToDecimal);
  const digits = Math.max(2, ...texts.map((t) => t.split('.')[1]?.length ?? 0));
  return texts.map((t) => {
    const [whole = '0', fraction = ''] = t.split('.');
    return `${whole}.${fraction.padEnd(digits, '0')}`;
  });
}
