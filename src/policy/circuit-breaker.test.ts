import { describe, expect, it } from 'vitest';
import { emptyRates, type SpendRates } from './anomaly.js';
import {
  BREAKER_CLOSED,
  PROBE_TIMEOUT_MS,
  breakerTrigger,
  checkBreaker,
  circuitBreakerSchema,
  resetBreaker,
  settleBreaker,
} from './circuit-breaker.js';

const T0 = Date.parse('2026-05-10T00:00:00Z');
const rule = circuitBreakerSchema.parse({
  scope: { org: '*' },
  max_usd_per_minute: 5,
  baseline_multiplier: 20,
})[0]!;
const hot: SpendRates = { ...emptyRates(), minuteUsd: 5 };
const cool: SpendRates = emptyRates();

describe('circuit breaker: schema', () => {
  it('fills the defaults', () => {
    expect(rule).toMatchObject({ cooldown: 600_000, window: 300_000, baseline: 86_400_000 });
  });

  it('needs at least one trigger', () => {
    const parsed = circuitBreakerSchema.safeParse({ scope: { org: '*' } });

    expect(parsed.success).toBe(false);
  });
});

describe('circuit breaker: triggers', () => {
  it('opens at max_usd_per_minute exactly, not a cent below', () => {
    expect(breakerTrigger(rule, hot)).toBe('max_usd_per_minute');
    expect(breakerTrigger(rule, { ...cool, minuteUsd: 4.99 })).toBeNull();
  });

  it('opens at baseline_multiplier x a trusted baseline above the floor', () => {
    const at = { ...cool, shortUsdPerHour: 40, baselineUsdPerHour: 2, trusted: true };

    expect(breakerTrigger(rule, at)).toBe('baseline_multiplier');
    expect(breakerTrigger(rule, { ...at, shortUsdPerHour: 39.9 })).toBeNull();
  });

  it('ignores the baseline with too little history', () => {
    const early = { ...cool, shortUsdPerHour: 400, baselineUsdPerHour: 0, trusted: false };

    expect(breakerTrigger(rule, early)).toBeNull();
  });
});

describe('circuit breaker: lifecycle', () => {
  it('opens, rejects with the seconds left, lets one probe through, then closes', () => {
    const open = settleBreaker(undefined, rule, hot, T0);
    const during = checkBreaker(open.next, rule, T0 + 30_500);
    const probe = checkBreaker(open.next, rule, T0 + 600_000);
    const second = checkBreaker(probe.next, rule, T0 + 600_001);
    const closed = settleBreaker(probe.next, rule, cool, T0 + 601_000);

    expect(open.transition).toBe('opened');
    expect(during).toEqual({ allowed: false, retryAfterSeconds: 570, next: open.next });
    expect(probe).toMatchObject({ allowed: true, probe: true, next: { phase: 'half_open' } });
    expect(second).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(closed).toEqual({ next: BREAKER_CLOSED, transition: 'closed', trigger: null });
  });

  it('re-opens for a full cooldown when the probe finds the rate still hot', () => {
    const open = settleBreaker(undefined, rule, hot, T0).next;
    const probe = checkBreaker(open, rule, T0 + 600_000).next;

    const again = settleBreaker(probe, rule, hot, T0 + 600_500);

    expect(again.transition).toBe('opened');
    expect(again.next).toMatchObject({ phase: 'open', untilMs: T0 + 1_200_500 });
  });

  it('lets another probe through when the first never settles', () => {
    const open = settleBreaker(undefined, rule, hot, T0).next;
    const probe = checkBreaker(open, rule, T0 + 600_000).next;

    const next = checkBreaker(probe, rule, T0 + 600_000 + PROBE_TIMEOUT_MS);

    expect(next).toMatchObject({ allowed: true, probe: true });
  });

  it('ignores settles while open', () => {
    const open = settleBreaker(undefined, rule, hot, T0).next;

    expect(settleBreaker(open, rule, cool, T0 + 1_000).next).toBe(open);
  });

  it('closes at once on reset', () => {
    const open = settleBreaker(undefined, rule, hot, T0).next;

    expect(resetBreaker(open).transition).toBe('closed');
    expect(resetBreaker(BREAKER_CLOSED).transition).toBeNull();
  });
});
