import { describe, expect, it } from 'vitest';
import {
  numberToPlainDecimal,
  picoToDecimal,
  roundMicroPico,
  tokensTimesRate,
  usdToPico,
} from './money.js';

describe('money: exact decimals', () => {
  it('parses published decimal prices without float drift', () => {
    expect(usdToPico('2.5')).toBe(2_500_000_000_000n);
    expect(usdToPico(0.075)).toBe(75_000_000_000n);
    expect(usdToPico(1e-7)).toBe(100_000n);
    expect(usdToPico('0.000000000001')).toBe(1n);
  });

  it('formats plain decimals, never exponent form', () => {
    expect(picoToDecimal(25_200_000_000n)).toBe('0.0252');
    expect(picoToDecimal(100n)).toBe('0.0000000001');
    expect(picoToDecimal(0n)).toBe('0');
    expect(picoToDecimal(-1_500_000_000_000n)).toBe('-1.5');
    expect(numberToPlainDecimal(1.5e-9)).toBe('0.0000000015');
    expect(numberToPlainDecimal(2e21)).toBe('2000000000000000000000');
  });

  it('prices a request with one rounding over all its classes', () => {
    // 1,760 × $2.50/M + 10,240 × $1.25/M + 800 × $10/M = $0.0252 (case 1)
    const sum =
      tokensTimesRate(1760, usdToPico('2.5')) +
      tokensTimesRate(10240, usdToPico('1.25')) +
      tokensTimesRate(800, usdToPico('10'));

    expect(picoToDecimal(roundMicroPico(sum))).toBe('0.0252');
  });

  it('rejects text that is not a decimal', () => {
    expect(() => usdToPico('abc')).toThrow(RangeError);
    expect(() => usdToPico('')).toThrow(RangeError);
  });
});
