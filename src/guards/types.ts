/**
 * The shapes the guards runtime hands the proxy: check results, events and the breaker view.
 */
import type { RequestDims } from '../policy/scope.js';
import type { BreakerPhase, BreakerTrigger } from '../policy/circuit-breaker.js';

/** The kinds of guard events; public names, never renamed. */
export type GuardEventType = 'anomaly' | 'breaker_opened' | 'breaker_closed' | 'loop_detected';

/** One figure of an event: a rate, a count, a reason. */
export type GuardFigure = number | string | boolean | null;

/** Something an operator should see or be alerted about; `channels` are the rule's. */
export type GuardEvent = {
  readonly type: GuardEventType;
  readonly scope: Readonly<Record<string, string>>;
  readonly message: string;
  readonly figures: Readonly<Record<string, GuardFigure>>;
  readonly atMs: number;
  readonly channels: readonly string[];
};

/** What the proxy knows of a request before forwarding it. */
export type GuardRequest = {
  readonly dims: RequestDims;
  /** The path after `/<upstream>`, without the query string. */
  readonly path: string;
  readonly model: string | null;
  /** The parsed JSON body, or null when there is none. */
  readonly body: unknown;
};

/** The guards' answer for one request; every branch carries its events. */
export type GuardCheck =
  | {
      readonly allowed: true;
      readonly action: 'allow' | 'warn' | 'throttle';
      readonly delayMs: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly events: readonly GuardEvent[];
    }
  | {
      readonly allowed: false;
      readonly reason: 'circuit_breaker_open' | 'loop_detected';
      readonly retryAfterSeconds: number;
      readonly events: readonly GuardEvent[];
    };

/** One breaker instance that is not closed, for status and the dashboard. */
export type BreakerView = {
  readonly scope: Readonly<Record<string, string>>;
  readonly phase: Exclude<BreakerPhase, 'closed'>;
  readonly openedAtMs: number;
  readonly trigger: BreakerTrigger | null;
  /** Seconds left in the cooldown; 0 once a probe may go through. */
  readonly retryAfterSeconds: number;
};

/** The result of an admin reset: whether any breaker closed, and its events. */
export type GuardReset = {
  readonly closed: boolean;
  readonly events: readonly GuardEvent[];
};

/** Shared empty lists, so the common path allocates nothing. */
export const NO_EVENTS: readonly GuardEvent[] = Object.freeze([]);

/** Shared empty headers. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Rounds a USD figure to micro-dollars for events; figures are for people, not ledgers. */
export function usdFigure(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
