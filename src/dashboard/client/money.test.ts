import { describe, expect, it } from 'vitest';
import { formatUsd, parseApiJson } from './money.js';

describe('dashboard money: formatting', () => {
  it('prints dollars with thousands separators and cents', () => {
    expect(formatUsd(1_234_560_000_000_000n)).toBe('$1,234.56');
    expect(formatUsd(0n)).toBe('$0.00');
    expect(formatUsd(10_000_000_000n)).toBe('$0.01');
  });

  it('rounds the exact decimal half up, where a float would round $0.125 down', () => {
    expect(formatUsd(125_000_000_000n)).toBe('$0.13');
    expect(formatUsd(175_000_000_000n)).toBe('$0.18');
  });

  it('keeps two significant digits below one cent', () => {
    expect(formatUsd(4_567_000_000n)).toBe('$0.0046');
    expect(formatUsd(100n)).toBe('$0.0000000001');
  });
});

describe('dashboard money: parsing admin answers', () => {
  it('reads the money fields as pico-dollars and leaves counts as numbers', () => {
    // Node 20 has no JSON.parse source access, so this runs the float fallback; Chromium reads
    // the digits themselves (the browser test checks the totals it prints).
    const parsed = parseApiJson(
      '{"data":[{"org":"a","cost_usd":0.1725,"requests":3}],"limit_usd":0.000000000001}',
    ) as { data: { cost_usd: bigint; requests: number }[]; limit_usd: bigint };

    expect(parsed.data[0]?.cost_usd).toBe(172_500_000_000n);
    expect(parsed.data[0]?.requests).toBe(3);
    expect(parsed.limit_usd).toBe(1n);
  });
});
