import { describe, expect, it } from 'vitest';
import { deriveRetryAfter, parseReset } from './retry-after.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const DATE = { date: 'Thu, 03 Dec 2026 10:00:00 GMT' };
const at = (iso: string): number => Date.parse(iso);

const anthropicA = {
  ...DATE,
  'anthropic-ratelimit-requests-limit': '50',
  'anthropic-ratelimit-requests-remaining': '0',
  'anthropic-ratelimit-requests-reset': '2026-12-03T10:00:07Z',
  'anthropic-ratelimit-tokens-limit': '40000',
  'anthropic-ratelimit-tokens-remaining': '12000',
  'anthropic-ratelimit-tokens-reset': '2026-12-03T10:00:30Z',
};
const openaiB = {
  ...DATE,
  'x-ratelimit-limit-requests': '500',
  'x-ratelimit-remaining-requests': '499',
  'x-ratelimit-reset-requests': '120ms',
  'x-ratelimit-limit-tokens': '30000',
  'x-ratelimit-remaining-tokens': '0',
  'x-ratelimit-reset-tokens': '1m30.5s',
};
const bucketsA = [
  { name: 'requests', limit: 50, remaining: 0, resetAtMs: at('2026-12-03T10:00:07Z') },
  { name: 'tokens', limit: 40000, remaining: 12000, resetAtMs: at('2026-12-03T10:00:30Z') },
];
const bucketsB = [
  { name: 'requests', limit: 500, remaining: 499, resetAtMs: at('2026-12-03T10:00:00.120Z') },
  { name: 'tokens', limit: 30000, remaining: 0, resetAtMs: at('2026-12-03T10:01:30.500Z') },
];

describe('retry-after: the latest reset among exhausted buckets (case 15)', () => {
  it('waits for the empty anthropic requests bucket, not the token bucket with room (a)', () => {
    expect(deriveRetryAfter(anthropicA, NOW)).toEqual({ seconds: 7, buckets: bucketsA });
  });

  it('reads openai go-style durations and rounds up to whole seconds (b)', () => {
    expect(deriveRetryAfter(openaiB, NOW)).toEqual({ seconds: 91, buckets: bucketsB });
  });

  it('takes the latest reset when both openai buckets are empty (c)', () => {
    const headers = {
      ...DATE,
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '6m0s',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '2s',
    };

    expect(deriveRetryAfter(headers, NOW)).toEqual({
      seconds: 360,
      buckets: [
        { name: 'requests', limit: null, remaining: 0, resetAtMs: at('2026-12-03T10:06:00Z') },
        { name: 'tokens', limit: null, remaining: 0, resetAtMs: at('2026-12-03T10:00:02Z') },
      ],
    });
  });

  it('lets retry-after-ms beat the buckets (d)', () => {
    expect(deriveRetryAfter({ ...openaiB, 'retry-after-ms': '1500' }, NOW)).toEqual({
      seconds: 2,
      buckets: bucketsB,
    });
  });

  it('lets an http-date retry-after beat the buckets (e)', () => {
    const headers = { ...anthropicA, 'retry-after': 'Thu, 03 Dec 2026 10:00:45 GMT' };

    expect(deriveRetryAfter(headers, NOW)).toEqual({ seconds: 45, buckets: bucketsA });
  });
});

describe('retry-after: header forms', () => {
  it('prefers retry-after-ms over retry-after over buckets', () => {
    expect(deriveRetryAfter({ 'retry-after-ms': '250', 'retry-after': '30' }, NOW).seconds).toBe(1);
    expect(deriveRetryAfter({ ...anthropicA, 'retry-after': '30' }, NOW).seconds).toBe(30);
  });

  it('matches header names case-insensitively and takes the first of repeated values', () => {
    const headers = {
      'Anthropic-RateLimit-Tokens-Remaining': ['0', '5'],
      'ANTHROPIC-RATELIMIT-TOKENS-RESET': '2026-12-03T10:00:04.200+00:00',
    };

    expect(deriveRetryAfter(headers, NOW)).toEqual({
      seconds: 5,
      buckets: [
        { name: 'tokens', limit: null, remaining: 0, resetAtMs: at('2026-12-03T10:00:04.200Z') },
      ],
    });
  });

  it('gives null with no usable header and zero for a reset already past', () => {
    expect(deriveRetryAfter({}, NOW)).toEqual({ seconds: null, buckets: [] });
    expect(deriveRetryAfter({ 'retry-after': 'soon' }, NOW).seconds).toBeNull();
    expect(
      deriveRetryAfter(
        { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': 'garbage' },
        NOW,
      ).seconds,
    ).toBeNull();
    const past = { 'retry-after': 'Thu, 03 Dec 2026 09:59:00 GMT' };
    expect(deriveRetryAfter(past, NOW).seconds).toBe(0);
  });

  it('reads the anthropic input and output token buckets', () => {
    const headers = {
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': '2026-12-03T10:00:10Z',
      'anthropic-ratelimit-output-tokens-remaining': '0',
      'anthropic-ratelimit-output-tokens-reset': '2026-12-03T10:00:20Z',
    };

    expect(deriveRetryAfter(headers, NOW).seconds).toBe(20);
  });
});

describe('retry-after: reset values', () => {
  it('never reads an rfc 3339 instant as a number', () => {
    expect(parseReset('2026-12-03T10:00:07Z', NOW)).toBe(at('2026-12-03T10:00:07Z'));
  });

  it('reads go durations exactly', () => {
    expect(parseReset('120ms', NOW)).toBe(NOW + 120);
    expect(parseReset('1m30.5s', NOW)).toBe(NOW + 90_500);
    expect(parseReset('1h2m', NOW)).toBe(NOW + 3_720_000);
    expect(parseReset('0.1s', NOW)).toBe(NOW + 100);
    expect(parseReset('1.5us', NOW)).toBe(NOW + 1);
  });

  it('reads a bare number as seconds from now, or as a unix time when large', () => {
    expect(parseReset('2.5', NOW)).toBe(NOW + 2500);
    expect(parseReset('1796292010', NOW)).toBe(1_796_292_010_000);
    expect(parseReset('-3s', NOW)).toBeNull();
  });
});
