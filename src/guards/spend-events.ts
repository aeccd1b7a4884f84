/**
 * The events of the spend-rate guards. Messages are built only when something happens, never on
 * the common path.
 */
import type { AnomalyRule, SpendRates } from '../policy/anomaly.js';
import type { BreakerRule, BreakerTrigger } from '../policy/circuit-breaker.js';
import { usdFigure, type GuardEvent } from './types.js';

function describe(scope: Readonly<Record<string, string>>): string {
  const parts = Object.entries(scope).map(([key, value]) => `${key}=${value}`);
  return parts.length === 0 ? 'all traffic' : parts.join(' ');
}

/** An anomaly alert; `forced` marks one raised because a breaker on its scope tripped first. */
export function anomalyEvent(
  rule: AnomalyRule,
  scope: Readonly<Record<string, string>>,
  rates: SpendRates,
  thresholdUsdPerHour: number,
  atMs: number,
  forced = false,
): GuardEvent {
  const rate = usdFigure(rates.shortUsdPerHour);
  const baseline = usdFigure(rates.baselineUsdPerHour);
  const why = forced
    ? 'the circuit breaker tripped'
    : `threshold $${usdFigure(thresholdUsdPerHour)}/h`;
  return {
    type: 'anomaly',
    scope,
    message:
      `spend rate anomaly for ${describe(scope)}: $${rate}/h over ${rule.window / 1000}s ` +
      `against a baseline of $${baseline}/h (${why})`,
    figures: {
      rate_usd_per_hour: rate,
      baseline_usd_per_hour: baseline,
      threshold_usd_per_hour: usdFigure(thresholdUsdPerHour),
      multiplier: rule.multiplier,
      baseline_trusted: rates.trusted,
      forced,
    },
    atMs,
    channels: rule.channels,
  };
}

/** A breaker that opened (or re-opened after a hot probe). */
export function breakerOpenedEvent(
  rule: BreakerRule,
  scope: Readonly<Record<string, string>>,
  rates: SpendRates,
  trigger: BreakerTrigger | null,
  atMs: number,
): GuardEvent {
  const minute = usdFigure(rates.minuteUsd);
  const rate = usdFigure(rates.shortUsdPerHour);
  const figure =
    trigger === 'max_usd_per_minute'
      ? `$${minute} in the last minute (limit $${rule.max_usd_per_minute})`
      : `$${rate}/h, ${rule.baseline_multiplier}x the baseline or more`;
  return {
    type: 'breaker_opened',
    scope,
    message:
      `circuit breaker opened for ${describe(scope)}: ${figure}; ` +
      `requests are rejected for ${rule.cooldown / 1000}s`,
    figures: {
      reason: trigger,
      minute_usd: minute,
      rate_usd_per_hour: rate,
      baseline_usd_per_hour: usdFigure(rates.baselineUsdPerHour),
      cooldown_seconds: rule.cooldown / 1000,
    },
    atMs,
    channels: rule.channels,
  };
}

/** A breaker that closed, after a cool probe or an admin reset. */
export function breakerClosedEvent(
  rule: BreakerRule,
  scope: Readonly<Record<string, string>>,
  reason: 'probe' | 'reset',
  atMs: number,
): GuardEvent {
  const how = reason === 'probe' ? 'the probe found the spend rate back down' : 'an admin reset';
  return {
    type: 'breaker_closed',
    scope,
    message: `circuit breaker closed for ${describe(scope)}: ${how}`,
    figures: { reason },
    atMs,
    channels: rule.channels,
  };
}
