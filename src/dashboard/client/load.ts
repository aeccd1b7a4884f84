/** Fetches everything one refresh shows, in parallel, and shapes it for the panels. */
import type { AdminApi } from './api.js';
import {
  matchesSearch,
  rejectRate,
  spendSeries,
  stoppedLines,
  tenantLines,
  topLines,
  windowTotals,
  type ChartData,
  type StoppedLine,
  type TenantLine,
  type TopLine,
} from './shape.js';
import { bucketStarts, windowsAt, type BucketSize, type Windows } from './time.js';
import type { BudgetAnswer, BudgetRow, EventRow, RequestRow, SpendAnswer } from './types.js';

/** Rows shown per list: enough to see who matters, few enough for any number of tenants. */
export const TOP_TENANTS = 20;
export const TOP_BUDGETS = 20;
export const TOP_SPENDERS = 10;
export const CHART_SERIES = 8;
export const STOPPED_SAMPLE = 500;
export const STOPPED_LINES = 20;
export const EVENT_LINES = 50;

/** The event types of the timeline; rejections, warnings and throttles have their own panel. */
export const TIMELINE_TYPES = [
  'loop_detected',
  'breaker_opened',
  'breaker_closed',
  'budget_threshold',
  'anomaly',
  'kill_switch_created',
  'kill_switch_deleted',
] as const;

/** What the panels show after one refresh. */
export type Snapshot = {
  windows: Windows;
  bucket: BucketSize;
  total7d: bigint;
  total30d: bigint;
  /** Requests of the 30 days to models with no price, which the totals cannot include. */
  unpriced30d: number;
  tenants: TenantLine[];
  /** Tenants that match the search, of which `tenants` are the top ones. */
  tenantGroups: number;
  spendChart: ChartData;
  rejectChart: ChartData;
  budgets: BudgetRow[];
  budgetsMatching: number;
  budgetsTotal: number;
  stopped: StoppedLine[];
  /** How many rejected requests `stopped` counts, and the oldest one's time. */
  stoppedSample: { rows: number; sinceMs: number | null; capped: boolean };
  endpoints: TopLine[];
  models: TopLine[];
  events: EventRow[];
};

const iso = (ms: number): string => new Date(ms).toISOString();

/** Loads one snapshot at the gateway's time `nowMs`, for a tenant search and a bucket size. */
export async function loadSnapshot(
  api: AdminApi,
  opts: { nowMs: number; bucket: BucketSize; search: string },
): Promise<Snapshot> {
  const windows = windowsAt(opts.nowMs);
  const q = opts.search.trim();
  const chartFrom = opts.bucket === 'hour' ? windows.from48h : windows.from30d;
  const starts = bucketStarts(windows, opts.bucket);
  const spend = (params: Record<string, string | number | undefined>) =>
    api.get<SpendAnswer>('/spend', params);

  const [
    daily,
    tenants,
    hourly,
    decisions,
    budgets,
    budgetsAll,
    rejected,
    endpoints,
    models,
    ...events
  ] = await Promise.all([
    spend({ granularity: 'day', from: iso(windows.from30d) }),
    spend({
      group_by: 'org',
      granularity: 'day',
      from: iso(windows.from30d),
      limit: TOP_TENANTS,
      q,
    }),
    opts.bucket === 'hour'
      ? spend({
          group_by: 'org',
          granularity: 'hour',
          from: iso(windows.from48h),
          limit: CHART_SERIES,
          q,
        })
      : null,
    spend({ group_by: 'decision', granularity: opts.bucket, from: iso(chartFrom) }),
    // The gateway ranks and narrows the budgets: the page never downloads them all.
    api.get<BudgetAnswer>('/budgets', { limit: TOP_BUDGETS, q }),
    // While searching, one more instance tells how many there are in all.
    q === '' ? null : api.get<BudgetAnswer>('/budgets', { limit: 1 }),
    api.get<{ data: RequestRow[] }>('/requests', { decision: 'reject', limit: STOPPED_SAMPLE }),
    spend({ group_by: 'endpoint', from: iso(windows.from7d), limit: TOP_SPENDERS }),
    spend({ group_by: 'model', from: iso(windows.from7d), limit: TOP_SPENDERS }),
    ...TIMELINE_TYPES.map((type) =>
      api.get<{ data: EventRow[] }>('/events', { type, limit: EVENT_LINES }),
    ),
  ]);

  const timestamps = rejected.data.map((r) => Date.parse(r.timestamp));
  return {
    windows,
    bucket: opts.bucket,
    ...windowTotals(daily.data, windows.from7d),
    tenants: tenantLines(tenants.data, windows.from7d),
    tenantGroups: tenants.total_groups ?? 0,
    spendChart: spendSeries((hourly ?? tenants).data, 'org', starts, CHART_SERIES),
    rejectChart: rejectRate(decisions.data, starts),
    budgets: budgets.data,
    budgetsMatching: budgets.total ?? budgets.data.length,
    budgetsTotal: (budgetsAll ?? budgets).total ?? budgets.data.length,
    stopped: stoppedLines(rejected.data.filter((r) => matchesSearch(q, r.org))).slice(
      0,
      STOPPED_LINES,
    ),
    stoppedSample: {
      rows: rejected.data.length,
      sinceMs: timestamps.length ? Math.min(...timestamps) : null,
      capped: rejected.data.length >= STOPPED_SAMPLE,
    },
    endpoints: topLines(endpoints.data, 'endpoint'),
    models: topLines(models.data, 'model'),
    events: events
      .flatMap((answer) => answer.data)
      .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
      .slice(0, EVENT_LINES),
  };
}
