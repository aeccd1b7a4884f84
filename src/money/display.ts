/** Money for people (alerts, terminal tables); exports and the API print exact decimals. */

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
