/**
 * Exact money. Costs are integers of pico-dollars (1e-12 USD) held as bigint, so sums never
 * drift and a row's cost is exact to 1e-12 USD. Prices are integers of pico-dollars per
 * million tokens, so a decimal price with up to 12 fraction digits is taken at its
 * published value.
 */
export type Pico = bigint;

/** Pico-dollars in one dollar. */
export const PICO_PER_USD = 1_000_000_000_000n;

const TOKENS_PER_MTOK = 1_000_000n;
const SCALE_DIGITS = 12;

/** Parses a decimal number or numeric string (e.g. `2.5`, `"0.000402"`, `1e-7`) into pico-dollars. */
export function usdToPico(value: number | string): Pico {
  const text = typeof value === 'number' ? numberToPlainDecimal(value) : value.trim();
  const match = /^(-)?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RangeError(`not a decimal amount: ${JSON.stringify(value)}`);
  }
  const [, sign, whole = '', fraction = ''] = match;
  const kept = fraction.slice(0, SCALE_DIGITS).padEnd(SCALE_DIGITS, '0');
  let pico = BigInt(whole || '0') * PICO_PER_USD + BigInt(kept);
  // Round half up on the first dropped digit; prices never carry more than 12 digits in practice.
  if (fraction.length > SCALE_DIGITS && Number(fraction[SCALE_DIGITS]) >= 5) pico += 1n;
  return sign ? -pico : pico;
}

/** Formats pico-dollars as a plain decimal string without exponent or trailing zeros: `0.0252`. */
export function picoToDecimal(pico: Pico): string {
  const negative = pico < 0n;
  const abs = negative ? -pico : pico;
  const whole = abs / PICO_PER_USD;
  const fraction = (abs % PICO_PER_USD).toString().padStart(SCALE_DIGITS, '0').replace(/0+$/, '');
  const text = fraction ? `${whole}.${fraction}` : `${whole}`;
  return negative ? `-${text}` : text;
}

/** Pico-dollars as a JS number of USD; for display and JSON only, never for arithmetic. */
export function picoToNumber(pico: Pico): number {
  return Number(picoToDecimal(pico));
}

/**
 * The cost of `tokens` at `picoPerMtok`, before rounding: the caller sums every token class of
 * a request in these units (pico-dollars × 1e6) and rounds once with {@link roundMicroPico}.
 */
export function tokensTimesRate(tokens: number, picoPerMtok: Pico): bigint {
  return BigInt(tokens) * picoPerMtok;
}

/** Rounds a sum of {@link tokensTimesRate} terms to whole pico-dollars, half up. */
export function roundMicroPico(sum: bigint): Pico {
  const quotient = sum / TOKENS_PER_MTOK;
  const remainder = sum % TOKENS_PER_MTOK;
  return remainder * 2n >= TOKENS_PER_MTOK ? quotient + 1n : quotient;
}

/**
 * Writes a JS number as a plain decimal. `String(1e-7)` gives `1e-7`; catalogue prices are
 * published decimals, so the shortest round-trip digits are the published value.
 */
export function numberToPlainDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite amount: ${value}`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const [mantissa = '0', exponentText = '0'] = text.toLowerCase().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '');
  const [intPart = '0', fracPart = ''] = digits.split('.');
  const all = intPart + fracPart;
  const point = intPart.length + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${all}`;
  else if (point >= all.length) out = all + '0'.repeat(point - all.length);
  else out = `${all.slice(0, point)}.${all.slice(point)}`;
  out = out.includes('.') ? out.replace(/0+$/, '').replace(/\.$/, '') : out;
  return negative ? `-${out}` : out;
}
