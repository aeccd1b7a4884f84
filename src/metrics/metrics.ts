import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { LedgerRow } from '../ledger/row.js';
import { picoToNumber, type Pico } from '../money/money.js';

/** Upper bounds of the request duration histogram, in seconds. */
export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];

/** Distinct values a label keeps before the rest are reported as `other`. @default 100 */
const DEFAULT_LABEL_LIMIT = 100;

/**
 * Keeps a label's cardinality bounded: the first `limit` distinct values are reported as they
 * are, every later one as `other`, so a tenant explosion cannot explode the metrics.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(raw);
    return raw;
  }
}

/** The gateway's Prometheus metrics; `observe` is called once per ledger row. */
export type GatewayMetrics = {
  registry: Registry;
  observe(row: LedgerRow): void;
  /** Read at scrape time. */
  setGauges(values: {
    ledgerQueue: number;
    budgets: { name: string; scope: string; utilization: number }[];
  }): void;
};

/**
 * The registry's exposition text. prom-client prints a value that is not a number as `Nan`
 * (the event loop's mean delay before its first sample, for one); Prometheus reads it in any
 * case, stricter parsers only as `NaN`, which is what is sent.
 */
export async function exposition(registry: Registry): Promise<string> {
  // Sample lines only: a HELP text that happens to end in the word is left as written.
  return (await registry.metrics()).replace(/^([^#\n].*) Nan$/gm, '$1 NaN');
}

/** Builds the registry with every metric the metrics reference lists. */
export function createMetrics(
  opts: { labelLimit?: number; defaultMetrics?: boolean } = {},
): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false)
    // prom-client's own names start with `process_` or `nodejs_`: the prefix is only ours.
    // The event loop is sampled at prom-client's default, every 10 ms: its lag gauges include
    // the sampling interval, so a coarser one would move them (50 ms put every one near 0.05).
    collectDefaultMetrics({ register: registry, prefix: 'spendgate_' });
  const limit = opts.labelLimit ?? DEFAULT_LABEL_LIMIT;
  const org = new BoundedLabel(limit);
  const model = new BoundedLabel(limit);
  const budgetScope = new BoundedLabel(limit);

  // Summed in exact pico-dollars: the series equal the ledger's totals, with no float drift.
  const spend = summedCounter({
    name: 'spendgate_spend_usd_total',
    help: 'Spend recorded in the ledger, in USD (unpriced requests add nothing).',
    labelNames: ['org', 'provider', 'model'],
    registers: [registry],
    amounts: { zero: 0n, plus: (a: Pico, b: Pico) => a + b, value: picoToNumber },
  });
  const requests = summedCounter({
    name: 'spendgate_requests_total',
    help: 'Requests by the decision taken and the reason given.',
    labelNames: ['decision', 'reason', 'upstream'],
    registers: [registry],
    amounts: COUNTS,
  });
  const tokens = summedCounter({
    name: 'spendgate_tokens_total',
    help: 'Tokens by class: input (all prompt tokens), cached_input, cache_write, output, reasoning.',
    labelNames: ['class', 'provider', 'model'],
    registers: [registry],
    amounts: COUNTS,
  });
  const latency = summedHistogram({
    name: 'spendgate_request_duration_seconds',
    help: 'Time from admission to the end of the response, by upstream.',
    labelNames: ['upstream', 'streamed'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const queue = new Gauge({
    name: 'spendgate_ledger_queue_rows',
    help: 'Ledger rows waiting to be written.',
    registers: [registry],
  });
  const utilization = new Gauge({
    name: 'spendgate_budget_utilization_ratio',
    help: 'Budget instances: (committed + reserved) / limit.',
    labelNames: ['budget', 'scope'],
    registers: [registry],
  });

  return {
    registry,
    observe(row) {
      const m = model.value(row.resolvedModel ?? (row.model || 'none'));
      if (row.costPico !== null && row.costPico > 0n) {
        // Exact integers of pico-dollars become a float only here, for the exposition format.
        spend.add([org.value(row.org), row.provider, m], row.costPico);
      }
      requests.add([row.decision, row.reason ?? 'none', row.upstream], 1);
      const add = (cls: string, n: number): void => {
        if (n > 0) tokens.add([cls, row.provider, m], n);
      };
      add('input', row.inputTokens);
      add('cached_input', row.cachedInputTokens);
      add('cache_write', row.cacheWriteTokens);
      add('output', row.outputTokens);
      add('reasoning', row.reasoningTokens);
      latency.observe([row.upstream, row.streamed ? 'true' : 'false'], row.latencyMs / 1000);
    },
    setGauges({ ledgerQueue, budgets }) {
      queue.set(ledgerQueue);
      utilization.reset();
      for (const b of budgets)
        utilization.set({ budget: b.name, scope: budgetScope.value(b.scope) }, b.utilization);
    },
  };
}

/** How a summed counter adds its amounts and what it reports of a total. */
type Amounts<A> = { zero: A; plus: (a: A, b: A) => A; value: (total: A) => number };

/** Whole counts (requests, tokens): exact as numbers far past any counter's life. */
const COUNTS: Amounts<number> = { zero: 0, plus: (a, b) => a + b, value: (n) => n };

/**
 * A counter whose totals are kept per label values in plain numbers (or exact pico-dollars) and
 * handed to prom-client when the registry is read: prom-client builds and checks a label key on
 * every call, which a request would pay four times. Label values are given in `labelNames`
 * order.
 */
function summedCounter<L extends string, A>(config: {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
  amounts: Amounts<A>;
}): { add(values: readonly string[], amount: A): void } {
  const { amounts, ...counter } = config;
  const totals = new Map<string, { labels: Partial<Record<L, string>>; total: A }>();
  new Counter<L>({
    ...counter,
    collect() {
      // The whole totals, set afresh: prom-client never adds floats of its own to them.
      this.reset();
      for (const { labels, total } of totals.values()) this.inc(labels, amounts.value(total));
    },
  });
  return {
    add(values, amount) {
      const key = values.join('\u0000');
      const entry = totals.get(key);
      if (entry) {
        entry.total = amounts.plus(entry.total, amount);
        return;
      }
      const labels: Partial<Record<L, string>> = {};
      config.labelNames.forEach((name, i) => (labels[name] = values[i]));
      totals.set(key, { labels, total: amounts.plus(amounts.zero, amount) });
    },
  };
}

/**
 * A histogram kept per label values in plain counts and exposed in prom-client's format when
 * the registry is read: prom-client's own `observe` checks and hashes the labels on every call,
 * which cost a request a few microseconds. The exposition is the same as prom-client's
 * Histogram gives (buckets cumulative, then `+Inf`, `_sum` and `_count`).
 */
export function summedHistogram(config: {
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets: readonly number[];
  registers: Registry[];
}): { observe(values: readonly string[], value: number): void } {
  const { name, help, labelNames, buckets } = config;
  type Series = { labels: Record<string, string>; counts: number[]; sum: number; count: number };
  const series = new Map<string, Series>();
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    // The registry's text exposition reads this form: the `le` label, then the series' own.
    getForPromString() {
      const values: object[] = [];
      const bucket = `${name}_bucket`;
      for (const { labels, counts, sum, count } of series.values()) {
        let below = 0;
        buckets.forEach((le, i) => {
          below += counts[i] ?? 0;
          values.push({
            metricName: bucket,
            labels: { le },
            sharedLabels: labels,
            value: below,
            exemplar: null,
          });
        });
        values.push({
          metricName: bucket,
          labels: { le: '+Inf' },
          sharedLabels: labels,
          value: count,
          exemplar: null,
        });
        values.push({ metricName: `${name}_sum`, labels: {}, sharedLabels: labels, value: sum });
        values.push({
          metricName: `${name}_count`,
          labels: {},
          sharedLabels: labels,
          value: count,
        });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    // `getMetricsAsJSON` reads this form: every label in `labels`.
    get() {
      const data = metric.getForPromString();
      data.values = data.values.map((v) => {
        const { sharedLabels, labels, ...rest } = v as {
          sharedLabels: Record<string, string>;
          labels: Record<string, string | number>;
        };
        return { ...rest, labels: { ...labels, ...sharedLabels } };
      });
      return data;
    },
    reset() {
      series.clear();
    },
  };
  for (const registry of config.registers) {
    registry.registerMetric(metric as unknown as Metric);
  }
  return {
    observe(values, value) {
      const key = values.join('\u0000');
      let entry = series.get(key);
      if (entry === undefined) {
        const labels: Record<string, string> = {};
        labelNames.forEach((label, i) => (labels[label] = values[i] ?? ''));
        entry = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
        series.set(key, entry);
      }
      // A value above the last bound is counted in `+Inf` only (that is, in `count`).
      for (let i = 0; i < buckets.length; i++) {
        if (value <= (buckets[i] as number)) {
          entry.counts[i] = (entry.counts[i] ?? 0) + 1;
          break;
        }
      }
      entry.sum += value;
      entry.count += 1;
    },
  };
}
