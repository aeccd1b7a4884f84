import type { EnforcerEvent } from '../engine/engine.js';
import type { KillSwitch } from '../policy/kill-switch.js';
import type { GuardEvent } from '../guards/types.js';
import { dedupeKeyFor, type Alert } from './alert.js';
import { describeScope } from './format.js';

/** A budget's soft threshold crossed: the alert for the budget's `alerts` channels. */
export function budgetThresholdAlert(e: EnforcerEvent): Alert {
  const spent = Number(e.spentUsd);
  const limit = Number(e.limitUsd);
  return {
    kind: 'budget_threshold',
    severity: e.at >= 100 ? 'critical' : e.at >= 80 ? 'warning' : 'info',
    title: `Budget "${e.budget}" passed ${e.at}% for ${describeScope(e.scope)}`,
    summary: `${describeScope(e.scope)} has spent ${e.spentUsd} USD of the ${e.limitUsd} USD budget "${e.budget}" this period.`,
    scope: e.scope,
    figures: { spent_usd: spent, limit_usd: limit, threshold_pct: e.at, rule: e.budget },
    atMs: e.atMs,
    channels: [...e.channels],
    // The 50% and the 90% alerts of one budget are different alerts, never suppressed as one.
    dedupeKey: dedupeKeyFor('budget_threshold', e.scope, e.budget, String(e.at)),
  };
}

/** A kill switch set or lifted by an admin: told to `alerting.admin_channels`. */
export function killSwitchAlert(
  record: KillSwitch,
  action: 'set' | 'lifted',
  actor: string,
  atMs: number,
  channels: readonly string[],
): Alert {
  const scope = { [record.dimension]: record.value };
  const until =
    record.expires_at === undefined
      ? 'until lifted'
      : `until ${new Date(record.expires_at).toISOString()}`;
  return {
    kind: 'kill_switch',
    severity: 'warning',
    title: `Kill switch ${action} for ${describeScope(scope)}`,
    summary:
      action === 'set'
        ? `${actor} blocked every request of ${describeScope(scope)} ${until}${record.reason ? `: ${record.reason}` : ''}.`
        : `${actor} lifted the block on ${describeScope(scope)}.`,
    scope,
    figures: { rule: record.id },
    atMs,
    channels: [...channels],
    dedupeKey: dedupeKeyFor('kill_switch', scope, record.id, action),
  };
}

const GUARD_SEVERITY = {
  anomaly: 'warning',
  breaker_opened: 'critical',
  breaker_closed: 'info',
  loop_detected: 'warning',
} as const;

/** An anomaly, breaker change or loop detection: the alert for its rule's channels. */
export function guardAlert(e: GuardEvent, channels: readonly string[] = e.channels): Alert {
  const number = (key: string): number | undefined => {
    const value = e.figures[key];
    return typeof value === 'number' ? value : undefined;
  };
  return {
    kind: e.type,
    severity: GUARD_SEVERITY[e.type],
    title: `${e.message}`,
    summary: e.message,
    scope: { ...e.scope },
    figures: {
      rate_usd_per_hour: number('rate_usd_per_hour'),
      baseline_usd_per_hour: number('baseline_usd_per_hour'),
      requests: number('requests') ?? number('count'),
      window: typeof e.figures.window === 'string' ? e.figures.window : undefined,
    },
    atMs: e.atMs,
    channels: [...channels],
    dedupeKey: dedupeKeyFor(e.type, { ...e.scope }),
  };
}
