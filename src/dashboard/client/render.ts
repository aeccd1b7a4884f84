/** Draws a snapshot into the page's panels. */
import { TimeChart } from './charts.js';
import { byId, el, fillTable, formatCount } from './dom.js';
import type { Snapshot } from './load.js';
import { formatUsd, formatUsdNumber } from './money.js';
import { formatIsoUtc, formatUtc } from './time.js';
import type { BudgetRow, EventRow } from './types.js';

const NUMERIC_TENANT_COLUMNS = new Set([1, 2, 3]);
const NUMERIC_TOP_COLUMNS = new Set([1, 2, 3]);

/** What people read for an event type. */
const EVENT_LABELS: Record<string, string> = {
  loop_detected: 'Loop detected',
  breaker_opened: 'Breaker opened',
  breaker_closed: 'Breaker closed',
  budget_threshold: 'Budget alert',
  anomaly: 'Anomaly',
  kill_switch_created: 'Kill switch set',
  kill_switch_deleted: 'Kill switch lifted',
};

/** Under the totals: what they cover, and what they cannot (requests with no known cost). */
function totalsNote(unpriced: number): string {
  const covers = 'Calendar days in UTC, today included; every tenant this token can see.';
  if (unpriced === 0) return covers;
  const which = unpriced === 1 ? '1 request' : `${formatCount(unpriced)} requests`;
  return `${covers} Not included: ${which} in the last 30 days to models with no price (cost unknown; see pricing.models).`;
}

/** The panels, with their charts kept between refreshes. */
export class Panels {
  private readonly spendChart = new TimeChart(byId('spend-chart'), { format: formatUsdNumber });
  private readonly rejectChart = new TimeChart(byId('reject-chart'), {
    format: (v) => `${Number(v.toFixed(2))}%`,
    height: 200,
  });

  render(s: Snapshot): void {
    byId('total-7d').textContent = formatUsd(s.total7d);
    byId('total-30d').textContent = formatUsd(s.total30d);
    byId('totals-note').textContent = totalsNote(s.unpriced30d);
    this.renderTenants(s);
    this.renderCharts(s);
    renderBudgets(s);
    renderStopped(s);
    for (const [id, lines] of [
      ['endpoints', s.endpoints],
      ['models', s.models],
    ] as const) {
      fillTable(
        byId<HTMLTableElement>(id),
        lines.map((l) => [
          l.name,
          formatUsd(l.cost),
          formatCount(l.requests),
          formatCount(l.avgPrompt),
        ]),
        'No requests in the last 7 days.',
        NUMERIC_TOP_COLUMNS,
      );
    }
    renderEvents(s.events);
  }

  private renderTenants(s: Snapshot): void {
    fillTable(
      byId<HTMLTableElement>('tenants'),
      s.tenants.map((t) => [
        t.org,
        formatUsd(t.cost7d),
        formatUsd(t.cost30d),
        formatCount(t.requests30d),
      ]),
      'No tenant matches, or no spend in the last 30 days.',
      NUMERIC_TENANT_COLUMNS,
    );
    byId('tenants-count').textContent =
      s.tenantGroups > s.tenants.length
        ? `Top ${s.tenants.length} of ${formatCount(s.tenantGroups)} tenants by 30-day spend`
        : `${formatCount(s.tenants.length)} tenant${s.tenants.length === 1 ? '' : 's'}`;
  }

  private renderCharts(s: Snapshot): void {
    const window = s.bucket === 'hour' ? 'per hour, last 48 hours' : 'per day, last 30 days';
    this.spendChart.update(s.spendChart, 'No spend in this window.');
    byId('spend-chart-note').textContent =
      `Spend ${window} (UTC), top ${s.spendChart.series.length} tenants.`;
    this.rejectChart.update(s.rejectChart, 'No requests in this window.');
  }
}

function renderBudgets(s: Snapshot): void {
  const shown = `${s.budgets.length} of ${formatCount(s.budgetsMatching)}`;
  byId('budgets-count').textContent =
    s.budgetsTotal === 0
      ? 'No budget has spend in its current period.'
      : s.budgetsMatching === s.budgetsTotal
        ? `${shown} budget instances, most used first.`
        : `${shown} matching budget instances (${formatCount(s.budgetsTotal)} in all), most used first.`;
  byId('budgets').replaceChildren(...s.budgets.map(budgetItem));
}

function budgetItem(b: BudgetRow): HTMLLIElement {
  // One decimal, as a person reads it: 37.5, 66.7; the bar stops at the edge when overspent.
  const percent = Math.round(b.utilization * 1000) / 10;
  const scope = Object.entries(b.scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const title = scope ? `${b.name} (${scope})` : b.name;
  const fill = el('div', { class: `fill stage-${b.stage}` });
  fill.style.width = `${Math.min(100, percent)}%`;
  const exhaustion = b.projected_exhaustion
    ? `Projected to run out ${formatIsoUtc(b.projected_exhaustion)}`
    : 'Not projected to run out this period';
  return el(
    'li',
    { class: 'budget', 'data-budget': b.name, 'data-scope': scope },
    el(
      'div',
      { class: 'budget-head' },
      el('span', { class: 'budget-name' }, title),
      el(
        'span',
        { class: `stage stage-${b.stage}` },
        b.stage + (b.mode === 'shadow' ? ' (shadow)' : ''),
      ),
    ),
    el(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-label': `${title} used`,
        'aria-valuemin': 0,
        'aria-valuemax': Math.max(100, percent),
        'aria-valuenow': percent,
        'aria-valuetext': `${percent}% used, stage ${b.stage}`,
      },
      fill,
    ),
    el(
      'p',
      { class: 'budget-figures' },
      `${percent}% · ${formatUsd(b.spent_usd + b.reserved_usd)} of ${formatUsd(b.limit_usd)}`,
      ` · ${exhaustion} · resets ${formatIsoUtc(b.resets_at)}`,
    ),
  );
}

function renderStopped(s: Snapshot): void {
  const { rows, sinceMs, capped } = s.stoppedSample;
  byId('stopped-note').textContent =
    rows === 0
      ? 'No rejected requests.'
      : `${capped ? `The latest ${formatCount(rows)}` : `All ${formatCount(rows)}`} rejected ` +
        `requests, since ${formatUtc(sinceMs ?? 0)}.`;
  fillTable(
    byId<HTMLTableElement>('stopped'),
    s.stopped.map((l) => [
      l.org,
      l.team,
      l.user,
      l.reason,
      formatCount(l.count),
      formatUtc(l.lastMs),
    ]),
    'Nobody was stopped.',
    new Set([4]),
  );
}

function renderEvents(events: readonly EventRow[]): void {
  const list = byId('events');
  if (events.length === 0) {
    list.replaceChildren(el('li', { class: 'empty' }, 'No events yet.'));
    return;
  }
  list.replaceChildren(
    ...events.map((e) =>
      el(
        'li',
        { class: `event event-${e.type}`, 'data-type': e.type },
        el('time', { datetime: e.timestamp }, formatIsoUtc(e.timestamp)),
        el('span', { class: 'event-type' }, EVENT_LABELS[e.type] ?? e.type),
        el('span', { class: 'event-message' }, e.message),
        // Admin actions name their token in the message already; others may carry it apart.
        e.actor && !e.message.includes(e.actor)
          ? el('span', { class: 'event-actor' }, `by ${e.actor}`)
          : null,
      ),
    ),
  );
}
