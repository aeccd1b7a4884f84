/**
 * What an alert is, and the JSON a webhook receives for one. The payload is public API: fields
 * are only ever added (with a new `schema` version if a meaning changes), never renamed.
 */

/** Why an alert fired. Public names: never renamed. */
export const ALERT_KINDS = [
  'budget_threshold',
  'anomaly',
  'breaker_opened',
  'breaker_closed',
  'loop_detected',
  'kill_switch',
] as const;

/** One of `ALERT_KINDS`. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** How urgent: `critical` is for waking someone. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/** The numbers behind an alert; each is optional because each kind has its own. */
export type AlertFigures = {
  /** Current spend rate over the short window. */
  rate_usd_per_hour?: number;
  /** The usual spend rate it is compared with. */
  baseline_usd_per_hour?: number;
  /** Spent so far in the budget period. */
  spent_usd?: number;
  /** The budget limit. */
  limit_usd?: number;
  /** The alert threshold reached, as a percentage of the limit. */
  threshold_pct?: number;
  /** Requests counted in the window (loop detection, breaker). */
  requests?: number;
  /** The window the figures cover, as written in the config (`5m`). */
  window?: string;
  /** The budget, breaker or kill switch name. */
  rule?: string;
};

/** The figure names in the order the payload lists them. */
export const FIGURE_KEYS = [
  'rate_usd_per_hour',
  'baseline_usd_per_hour',
  'spent_usd',
  'limit_usd',
  'threshold_pct',
  'requests',
  'window',
  'rule',
] as const satisfies readonly (keyof AlertFigures)[];

/** One alert, as the policy code produces it and the dispatcher delivers it. */
export type Alert = {
  /** Stable across channels and retries, so receivers can drop duplicates; assigned if absent. */
  id?: string;
  kind: AlertKind;
  severity: AlertSeverity;
  /** One line, e.g. `Spend anomaly for org acme`. */
  title: string;
  /** One or two plain sentences with what the reader should know. */
  summary: string;
  /** The dimension values it is about (`org`, `team`, ...). */
  scope: Record<string, string>;
  figures: AlertFigures;
  atMs: number;
  /** Channel names from the `channels:` section. */
  channels: string[];
  /** Repeats with the same key are suppressed for the cooldown; see `dedupeKeyFor`. */
  dedupeKey: string;
};

/** The schema version every webhook body carries. */
export const ALERT_SCHEMA = 'spendgate.alert.v1';

/** The webhook body, documented field by field in docs/alerts.md. */
export type AlertPayload = {
  schema: typeof ALERT_SCHEMA;
  id: string;
  kind: AlertKind;
  severity: AlertSeverity;
  title: string;
  summary: string;
  scope: Record<string, string>;
  figures: { [K in (typeof FIGURE_KEYS)[number]]: AlertFigures[K] | null };
  occurred_at: string;
  dedupe_key: string;
  channel: string;
  dashboard_url: string | null;
};

/** A dedupe key: the kind, the scope (keys sorted) and anything else telling alerts apart. */
export function dedupeKeyFor(
  kind: AlertKind,
  scope: Record<string, string>,
  ...extra: string[]
): string {
  const parts = Object.keys(scope)
    .sort()
    .map((key) => `${key}=${scope[key] ?? ''}`);
  return [kind, ...parts, ...extra].join('|');
}

/** The webhook body for one alert on one channel; every figure key is present, `null` if unset. */
export function alertPayload(
  alert: Alert & { id: string },
  channel: string,
  dashboardUrl: string | null,
): AlertPayload {
  const figures = {} as AlertPayload['figures'];
  for (const key of FIGURE_KEYS) {
    (figures as Record<string, unknown>)[key] = alert.figures[key] ?? null;
  }

  return {
    schema: ALERT_SCHEMA,
    id: alert.id,
    kind: alert.kind,
    severity: alert.severity,
    title: alert.title,
    summary: alert.summary,
    scope: alert.scope,
    figures,
    occurred_at: new Date(alert.atMs).toISOString(),
    dedupe_key: alert.dedupeKey,
    channel,
    dashboard_url: dashboardUrl,
  };
}
