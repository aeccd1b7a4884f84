/**
 * The words of an alert for a person: plain sentences shared by Slack and email, money as
 * `$1,234.56`, and the dashboard link filtered to the alert's scope.
 */
import { formatUsd } from '../money/display.js';
import type { Alert, AlertKind } from './alert.js';

export { formatUsd };

const RATIO = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const COUNT = new Intl.NumberFormat('en-US');

const KIND_LABELS: Record<AlertKind, string> = {
  budget_threshold: 'Budget threshold reached',
  anomaly: 'Spend anomaly',
  breaker_opened: 'Circuit breaker opened',
  breaker_closed: 'Circuit breaker closed',
  loop_detected: 'Loop detected',
  kill_switch: 'Kill switch',
};

/** The kind of alert in words, e.g. `Spend anomaly`. */
export function kindLabel(kind: AlertKind): string {
  return KIND_LABELS[kind];
}

/** The scope as `org acme, team search`, or `the whole gateway` for an empty scope. */
export function describeScope(scope: Record<string, string>): string {
  const parts = Object.entries(scope).map(([key, value]) => `${key} ${value}`);
  return parts.length === 0 ? 'the whole gateway' : parts.join(', ');
}

/** The dashboard URL with one query parameter per scope dimension, or null without a base. */
export function dashboardLink(
  base: string | undefined,
  scope: Record<string, string>,
): string | null {
  if (base === undefined) return null;

  const url = new URL(base);
  for (const [key, value] of Object.entries(scope)) url.searchParams.set(key, value);
  return url.toString();
}

/** The body of an alert as plain sentences: what happened, who, how fast, the budget. */
export function alertSentences(alert: Alert): string[] {
  const f = alert.figures;
  const lines = [alert.summary, `Scope: ${describeScope(alert.scope)}.`];

  if (f.rate_usd_per_hour !== undefined) {
    const over = f.window === undefined ? '' : ` over the last ${f.window}`;
    let rate = `Spending ${formatUsd(f.rate_usd_per_hour)} per hour${over}`;
    if (f.baseline_usd_per_hour !== undefined) {
      const baseline = `${formatUsd(f.baseline_usd_per_hour)} per hour`;
      rate +=
        f.baseline_usd_per_hour > 0
          ? `, ${RATIO.format(f.rate_usd_per_hour / f.baseline_usd_per_hour)} times` +
            ` its baseline of ${baseline}`
          : `, against a baseline of ${baseline}`;
    }
    lines.push(`${rate}.`);
  }

  if (f.spent_usd !== undefined && f.limit_usd !== undefined) {
    const name = f.rule === undefined ? 'Budget' : `Budget ${f.rule}`;
    const used = f.limit_usd > 0 ? ` (${RATIO.format((f.spent_usd / f.limit_usd) * 100)}%)` : '';
    lines.push(`${name}: ${formatUsd(f.spent_usd)} of ${formatUsd(f.limit_usd)} spent${used}.`);
  } else if (f.rule !== undefined) {
    lines.push(`Rule: ${f.rule}.`);
  }
  if (f.threshold_pct !== undefined) {
    lines.push(`The ${RATIO.format(f.threshold_pct)}% alert threshold was reached.`);
  }

  if (f.requests !== undefined) {
    const within = f.window === undefined ? '' : ` within ${f.window}`;
    lines.push(`${COUNT.format(f.requests)} requests${within}.`);
  }

  return lines;
}
