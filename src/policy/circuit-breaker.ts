/**
 * The spend circuit breaker: closed → open → half_open → closed per scope instance. It opens on
 * an absolute spend per minute or a multiple of the baseline, rejects while open, lets one probe
 * through after its cooldown and closes when the probe's settle finds the rate back down.
 */
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import { whenValid } from '../config/when-valid.js';
import { exceeds, guardScopeSchema, oneOrMany, reaches, type SpendRates } from './anomaly.js';

/** How long a half-open breaker waits for its probe to settle before letting another through. */
export const PROBE_TIMEOUT_MS = 60_000;

const circuitBreakerRuleSchema = z
  .object({
    scope: guardScopeSchema,
    /** Opens when the scope spends this much within one minute. */
    max_usd_per_minute: z.number().positive().optional(),
    /** Opens when the short-window rate reaches this multiple of the baseline. */
    baseline_multiplier: z.number().positive().optional(),
    /** How long the breaker stays open before a probe. @default 10m */
    cooldown: durationSchema.default(600_000),
    /** The short window `baseline_multiplier` reads (the anomaly default). @default 5m */
    window: durationSchema.default(300_000),
    /** The baseline window `baseline_multiplier` reads. @default 24h */
    baseline: durationSchema.default(86_400_000),
    /** The floor the rate must be above for `baseline_multiplier`. @default 1 */
    min_usd_per_hour: z.number().min(0).default(1),
    /** @default [] */
    channels: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((r) => r.max_usd_per_minute !== undefined || r.baseline_multiplier !== undefined, {
    message: 'a circuit breaker needs max_usd_per_minute or baseline_multiplier',
    when: whenValid('max_usd_per_minute', 'baseline_multiplier'),
  })
  .refine((r) => r.window > 0 && r.baseline > r.window, {
    message: 'baseline must be longer than window, and window above zero',
    path: ['baseline'],
    when: whenValid('window', 'baseline'),
  })
  .refine((r) => r.cooldown >= 1_000, {
    message: 'cooldown is at least 1s',
    path: ['cooldown'],
    when: whenValid('cooldown'),
  });

/** The `circuit_breaker:` section: one rule or a list of them. */
export const circuitBreakerSchema = oneOrMany(circuitBreakerRuleSchema);

/** One breaker rule after parsing (durations in milliseconds). */
export type BreakerRule = z.output<typeof circuitBreakerRuleSchema>;

/** The phases of a breaker instance. */
export type BreakerPhase = 'closed' | 'open' | 'half_open';

/** Which trigger opened a breaker. */
export type BreakerTrigger = 'max_usd_per_minute' | 'baseline_multiplier';

/** One breaker instance; closed instances share {@link BREAKER_CLOSED}. */
export type BreakerState = {
  readonly phase: BreakerPhase;
  readonly openedAtMs: number;
  /** When the cooldown ends (open) or when the probe is given up on (half_open). */
  readonly untilMs: number;
  readonly trigger: BreakerTrigger | null;
};

/** The state of a breaker that has never opened. */
export const BREAKER_CLOSED: BreakerState = Object.freeze({
  phase: 'closed',
  openedAtMs: 0,
  untilMs: 0,
  trigger: null,
});

/** A breaker's admission answer; `next` is the state to store when the request goes ahead. */
export type BreakerCheck =
  | { readonly allowed: true; readonly probe: boolean; readonly next: BreakerState }
  | { readonly allowed: false; readonly retryAfterSeconds: number; readonly next: BreakerState };

/** A settle's result: the new state and the transition it made, if any. */
export type BreakerSettle = {
  readonly next: BreakerState;
  readonly transition: 'opened' | 'closed' | null;
  readonly trigger: BreakerTrigger | null;
};

/** The trigger the rates reach for this rule, or null when neither does. */
export function breakerTrigger(config: BreakerRule, rates: SpendRates): BreakerTrigger | null {
  if (
    config.max_usd_per_minute !== undefined &&
    reaches(rates.minuteUsd, config.max_usd_per_minute)
  ) {
    return 'max_usd_per_minute';
  }
  // With too little history the baseline is not trusted and only the absolute trigger applies.
  if (
    config.baseline_multiplier !== undefined &&
    rates.trusted &&
    exceeds(rates.shortUsdPerHour, config.min_usd_per_hour) &&
    reaches(rates.shortUsdPerHour, config.baseline_multiplier * rates.baselineUsdPerHour)
  ) {
    return 'baseline_multiplier';
  }
  return null;
}

function secondsUntil(untilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
}

/**
 * Admits or rejects one request: open rejects with the seconds left in the cooldown; after the
 * cooldown one probe goes through (half_open) and the others wait for its settle.
 */
export function checkBreaker(
  state: BreakerState | undefined,
  config: BreakerRule,
  nowMs: number,
): BreakerCheck {
  const current = state ?? BREAKER_CLOSED;
  if (current.phase === 'closed') return { allowed: true, probe: false, next: current };

  if (nowMs < current.untilMs) {
    // While a probe is out, a client should come back about when it has settled.
    const retry = current.phase === 'open' ? secondsUntil(current.untilMs, nowMs) : 1;
    return { allowed: false, retryAfterSeconds: retry, next: current };
  }

  const next: BreakerState = {
    phase: 'half_open',
    openedAtMs: current.openedAtMs,
    untilMs: nowMs + PROBE_TIMEOUT_MS,
    trigger: current.trigger,
  };
  return { allowed: true, probe: true, next };
}

function opened(config: BreakerRule, trigger: BreakerTrigger, nowMs: number): BreakerState {
  return { phase: 'open', openedAtMs: nowMs, untilMs: nowMs + config.cooldown, trigger };
}

/**
 * Feeds one settled request's rates: a closed breaker opens when a trigger is reached; a
 * half-open one closes when the probe finds the rates back under, else re-opens. Settles while
 * open come from requests admitted before it opened and change nothing.
 */
export function settleBreaker(
  state: BreakerState | undefined,
  config: BreakerRule,
  rates: SpendRates,
  nowMs: number,
): BreakerSettle {
  const current = state ?? BREAKER_CLOSED;
  if (current.phase === 'open') return { next: current, transition: null, trigger: null };

  const trigger = breakerTrigger(config, rates);
  if (current.phase === 'closed') {
    if (trigger === null) return { next: current, transition: null, trigger: null };
    return { next: opened(config, trigger, nowMs), transition: 'opened', trigger };
  }

  if (trigger !== null)
    return { next: opened(config, trigger, nowMs), transition: 'opened', trigger };
  return { next: BREAKER_CLOSED, transition: 'closed', trigger: null };
}

/** Closes a breaker at once (the admin reset); the transition is null when it was closed. */
export function resetBreaker(state: BreakerState | undefined): BreakerSettle {
  const current = state ?? BREAKER_CLOSED;
  if (current.phase === 'closed') return { next: current, transition: null, trigger: null };
  return { next: BREAKER_CLOSED, transition: 'closed', trigger: null };
}
