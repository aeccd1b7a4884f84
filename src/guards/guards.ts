/**
 * The guards runtime the proxy calls: `check` before forwarding (breakers, then loops), and
 * `observe` after the response (rates, anomalies, then breakers). Synchronous, no I/O, no
 * timers; the clock is injected and every state change comes back as an event.
 */
import type { Clock } from '../clock.js';
import type { Pico } from '../money/money.js';
import type { AnomalyRule } from '../policy/anomaly.js';
import type { BreakerRule } from '../policy/circuit-breaker.js';
import type { LoopRule } from '../policy/loop-detector.js';
import type { RequestDims } from '../policy/scope.js';
import { createLoopGuards, NO_LOOP } from './loops.js';
import { DEFAULT_MAX_SCOPES } from './slots.js';
import { createSpendGuards } from './spend.js';
import {
  NO_EVENTS,
  NO_HEADERS,
  type BreakerView,
  type GuardCheck,
  type GuardEvent,
  type GuardRequest,
  type GuardReset,
} from './types.js';

/** The parsed `anomaly:`, `circuit_breaker:` and `loop_detection:` sections and a clock. */
export type GuardsOptions = {
  readonly anomaly?: readonly AnomalyRule[] | undefined;
  readonly breaker?: readonly BreakerRule[] | undefined;
  readonly loops?: readonly LoopRule[] | undefined;
  readonly clock: Clock;
  /** Scope instances each rule keeps; the least recently used are dropped. @default 100000 */
  readonly maxScopes?: number | undefined;
};

/** The guards runtime. */
export type Guards = {
  /** Breaker and loop checks for a request about to be forwarded. */
  check(req: GuardRequest): GuardCheck;
  /** Feeds a request's settled cost (zero for failures); returns anomaly and breaker events. */
  observe(dims: RequestDims, costPico: Pico): readonly GuardEvent[];
  /** Closes the breakers of exactly this scope (`POST /api/v1/circuit-breakers/reset`). */
  reset(scope: Readonly<Record<string, string>>): GuardReset;
  /** The breakers that are open or half open, and how many scope instances are tracked. */
  view(): { breakers: BreakerView[]; trackedScopes: number };
};

const ALLOW: GuardCheck = Object.freeze({
  allowed: true,
  action: 'allow',
  delayMs: 0,
  headers: NO_HEADERS,
  events: NO_EVENTS,
});

/** Builds the guards for one config; rules are grouped and scopes compiled here, once. */
export function createGuards(options: GuardsOptions): Guards {
  const { clock } = options;
  const maxScopes = options.maxScopes ?? DEFAULT_MAX_SCOPES;
  const spend = createSpendGuards(options.anomaly ?? [], options.breaker ?? [], maxScopes);
  const loops = createLoopGuards(options.loops ?? [], maxScopes);

  function check(req: GuardRequest): GuardCheck {
    const nowMs = clock.now();
    const admit = spend.admit(req.dims, nowMs);
    if (admit?.rejected === true) {
      return {
        allowed: false,
        reason: 'circuit_breaker_open',
        retryAfterSeconds: admit.retryAfterSeconds,
        events: NO_EVENTS,
      };
    }

    // Loops run after the breaker check so that an open breaker answers with its own reason,
    // and before the probe is committed so that a loop rejection does not use up the probe.
    const loop = loops.check(req, nowMs);
    if (loop.action === 'reject') {
      return {
        allowed: false,
        reason: 'loop_detected',
        retryAfterSeconds: loop.retryAfterSeconds,
        events: loop.events,
      };
    }
    if (admit !== null) admit.commit();

    if (loop === NO_LOOP) return ALLOW;
    return {
      allowed: true,
      action: loop.action,
      delayMs: loop.delayMs,
      headers: loop.headers,
      events: loop.events,
    };
  }

  function observe(dims: RequestDims, costPico: Pico): readonly GuardEvent[] {
    return spend.observe(dims, costPico, clock.now()) ?? NO_EVENTS;
  }

  function reset(scope: Readonly<Record<string, string>>): GuardReset {
    const events = spend.reset(scope, clock.now());
    return { closed: events.length > 0, events };
  }

  function view(): { breakers: BreakerView[]; trackedScopes: number } {
    return { breakers: spend.view(clock.now()), trackedScopes: spend.size() + loops.size() };
  }

  return { check, observe, reset, view };
}
