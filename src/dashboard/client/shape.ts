/**
 * Turns admin API rows into what the panels show. Pure functions over plain data, so the sums
 * the dashboard prints are tested without a browser.
 */
import { picoToUsdNumber, sumPico } from './money.js';
import type { RequestRow, SpendRow } from './types.js';

/** A tenant line: its spend over the two windows and its requests over 30 days. */
export type TenantLine = { org: string; cost7d: bigint; cost30d: bigint; requests30d: number };

/** A chart's data: bucket starts (ms) and one series of values per label. */
export type ChartData = { xs: number[]; series: { label: string; values: (number | null)[] }[] };

/** Who was stopped, for what, how often, and when last. */
export type StoppedLine = {
  org: string;
  team: string;
  user: string;
  reason: string;
  count: number;
  lastMs: number;
};

/** A top-spender line: spend, requests and the average prompt in tokens. */
export type TopLine = { name: string; cost: bigint; requests: number; avgPrompt: number };

function bucketMs(row: SpendRow): number {
  return row.bucket === undefined ? Number.NaN : Date.parse(row.bucket);
}

// A request refused before its model was known (a bad token, an unreadable body) has an empty
// model in the ledger: a blank cell would read as a rendering fault.
function text(value: unknown): string {
  return value === null || value === undefined || value === '' ? '(none)' : String(value);
}

/**
 * The 7- and 30-day totals from daily buckets starting at the 30-day window, and how many
 * requests of the 30 days had no price (so are not in the totals).
 */
export function windowTotals(rows: readonly SpendRow[], from7d: number) {
  return {
    total7d: sumPico(rows.filter((r) => bucketMs(r) >= from7d).map((r) => r.cost_usd)),
    total30d: sumPico(rows.map((r) => r.cost_usd)),
    // An older gateway's answer has no such field: nothing known to be missing.
    unpriced30d: rows.reduce((n, r) => n + (r.unpriced_requests ?? 0), 0),
  };
}

/** Tenant lines from `group_by=org&granularity=day` rows, in the order the API ranked them. */
export function tenantLines(rows: readonly SpendRow[], from7d: number): TenantLine[] {
  const lines = new Map<string, TenantLine>();
  for (const row of rows) {
    const org = text(row.org);
    let line = lines.get(org);
    if (!line) {
      line = { org, cost7d: 0n, cost30d: 0n, requests30d: 0 };
      lines.set(org, line);
    }
    line.cost30d += row.cost_usd;
    line.requests30d += row.requests;
    if (bucketMs(row) >= from7d) line.cost7d += row.cost_usd;
  }
  return [...lines.values()].sort((a, b) =>
    a.cost30d === b.cost30d ? a.org.localeCompare(b.org) : a.cost30d > b.cost30d ? -1 : 1,
  );
}

/**
 * One series per value of `key` (the first `maxSeries` by total), every bucket present: a
 * bucket with no row is a zero, not a gap, since no spend is a real value.
 */
export function spendSeries(
  rows: readonly SpendRow[],
  key: string,
  starts: readonly number[],
  maxSeries: number,
): ChartData {
  const index = new Map(starts.map((start, i) => [start, i]));
  const sums = new Map<string, { total: bigint; values: number[] }>();
  for (const row of rows) {
    const at = index.get(bucketMs(row));
    if (at === undefined) continue;
    const label = text(row[key]);
    let sum = sums.get(label);
    if (!sum) {
      sum = { total: 0n, values: starts.map(() => 0) };
      sums.set(label, sum);
    }
    sum.total += row.cost_usd;
    sum.values[at] = (sum.values[at] ?? 0) + picoToUsdNumber(row.cost_usd);
  }
  const top = [...sums.entries()]
    .sort(([la, a], [lb, b]) =>
      a.total === b.total ? la.localeCompare(lb) : a.total > b.total ? -1 : 1,
    )
    .slice(0, maxSeries);
  return { xs: [...starts], series: top.map(([label, sum]) => ({ label, values: sum.values })) };
}

/**
 * The share of requests rejected per bucket, in percent, from `group_by=decision` rows. A bucket
 * without requests is a gap: there was nothing to reject.
 */
export function rejectRate(rows: readonly SpendRow[], starts: readonly number[]): ChartData {
  const index = new Map(starts.map((start, i) => [start, i]));
  const all = starts.map(() => 0);
  const rejected = starts.map(() => 0);
  for (const row of rows) {
    const at = index.get(bucketMs(row));
    if (at === undefined) continue;
    all[at] = (all[at] ?? 0) + row.requests;
    if (row.decision === 'reject') rejected[at] = (rejected[at] ?? 0) + row.requests;
  }
  const values = all.map((n, i) => (n === 0 ? null : ((rejected[i] ?? 0) / n) * 100));
  return { xs: [...starts], series: [{ label: 'Rejected', values }] };
}

/** Rejected requests counted by org, team, user and reason, most first. */
export function stoppedLines(rows: readonly RequestRow[]): StoppedLine[] {
  const lines = new Map<string, StoppedLine>();
  for (const row of rows) {
    const reason = row.reason ?? '(none)';
    const id = JSON.stringify([row.org, row.team, row.user, reason]);
    const atMs = Date.parse(row.timestamp);
    const line = lines.get(id);
    if (line) {
      line.count += 1;
      line.lastMs = Math.max(line.lastMs, atMs);
    } else {
      lines.set(id, {
        org: row.org,
        team: row.team,
        user: row.user,
        reason,
        count: 1,
        lastMs: atMs,
      });
    }
  }
  return [...lines.values()].sort((a, b) => b.count - a.count || b.lastMs - a.lastMs);
}

/** Top-spender lines from rows grouped by `key`, with the average prompt size. */
export function topLines(rows: readonly SpendRow[], key: string): TopLine[] {
  return rows.map((row) => ({
    name: text(row[key]),
    cost: row.cost_usd,
    requests: row.requests,
    avgPrompt: row.requests === 0 ? 0 : Math.round(row.input_tokens / row.requests),
  }));
}

/** Whether a text search (any case) matches a value; an empty search matches everything. */
export function matchesSearch(search: string, ...values: readonly string[]): boolean {
  const needle = search.trim().toLowerCase();
  return needle === '' || values.some((v) => v.toLowerCase().includes(needle));
}
