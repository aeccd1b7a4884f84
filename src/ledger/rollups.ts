import { DAY_MS, HOUR_MS } from './buckets.js';
import type { LedgerRow } from './row.js';

/**
 * The rollups every ledger keeps beside its raw rows: exact sums per time slice and dimension
 * values. The definitions are shared, so SQLite and PostgreSQL answer a spend query from the
 * same table with the same plan.
 */
export type Rollup = {
  table: string;
  /** Slice length; slices start at multiples of it since the epoch (UTC). */
  grainMs: number;
  /** Dimension columns kept; `key_id` holds '' for rows without a virtual key. */
  columns: readonly string[];
};

/** Every dimension column a rollup may keep, as the raw table names it. */
export const ALL_COLUMNS = [
  'org',
  'team',
  'user',
  'endpoint',
  'model',
  'provider',
  'upstream',
  'decision',
  'key_id',
  'tags',
] as const;

// Teams, users and keys multiply the row count most; without them the tables stay small enough
// for month-long queries by org, endpoint or model.
const ORG_COLUMNS = ['org', 'endpoint', 'model', 'provider', 'upstream', 'decision', 'tags'];

/** The rollups, smallest first: the spend query takes the first one that can answer exactly. */
export const ROLLUPS: readonly Rollup[] = [
  { table: 'spend_daily_org', grainMs: DAY_MS, columns: ORG_COLUMNS },
  { table: 'spend_hourly_org', grainMs: HOUR_MS, columns: ORG_COLUMNS },
  { table: 'spend_hourly', grainMs: HOUR_MS, columns: ALL_COLUMNS },
];

/**
 * The summed columns the rollups were created with. Released migrations build their tables
 * from this list, so it never changes: a new sum is added by a migration of its own.
 */
export const FIRST_SUMS = [
  'cost_pico',
  'requests',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
] as const;

/**
 * The summed columns of every rollup, in this order. `unpriced_requests` counts rows whose cost
 * is unknown (a model with no price), so a spend total that leaves them out says so.
 */
export const SUMS = [...FIRST_SUMS, 'unpriced_requests'] as const;

/**
 * Whether a row counts in `unpriced_requests`: served for a model with no price, so its cost is
 * unknown. Other rows without a cost (unmetered endpoints) are not about a missing price.
 */
export function isUnpriced(row: LedgerRow): boolean {
  return row.costPico === null && row.flags.includes('unpriced_model');
}

/** {@link isUnpriced} in SQL over the raw rows (flags are stored comma-joined), for both databases. */
export const UNPRICED_SQL = "cost_pico IS NULL AND (',' || flags || ',') LIKE '%,unpriced_model,%'";

type Dimension = (row: LedgerRow, tags: string) => string;

/** A dimension column's value in a row; `key_id` is '' without a virtual key, as stored. */
const DIMENSION: Record<(typeof ALL_COLUMNS)[number], Dimension> = {
  org: (row) => row.org,
  team: (row) => row.team,
  user: (row) => row.user,
  endpoint: (row) => row.endpoint,
  model: (row) => row.model,
  provider: (row) => row.provider,
  upstream: (row) => row.upstream,
  decision: (row) => row.decision,
  key_id: (row) => row.keyId ?? '',
  tags: (_row, tags) => tags,
};

/** One slice's and dimension values' sums within a batch (`SUMS` order after `values`). */
export type Delta = {
  /** The slice start, then the dimension values in the rollup's `columns` order. */
  values: [number, ...string[]];
  cost: bigint;
  requests: number;
  input: number;
  output: number;
  cached: number;
  unpriced: number;
};

/** A delta's sums in `SUMS` order, as the writers bind them after its `values`. */
export function deltaSums(d: Delta): [bigint, number, number, number, number, number] {
  return [d.cost, d.requests, d.input, d.output, d.cached, d.unpriced];
}

type Pending = {
  rollup: Rollup;
  dims: readonly Dimension[];
  deltas: Map<string, Delta>;
};

/** One pending sum per rollup; rollups that keep the same columns share their readers. */
function pendingRollups(): Pending[] {
  const readers = new Map<readonly string[], readonly Dimension[]>();
  return ROLLUPS.map((rollup) => {
    let dims = readers.get(rollup.columns);
    if (!dims) {
      dims = rollup.columns.map((c) => DIMENSION[c as keyof typeof DIMENSION]);
      readers.set(rollup.columns, dims);
    }
    return { rollup, dims, deltas: new Map() };
  });
}

/**
 * Sums a batch's new rows per rollup slice and dimension values, so a batch writes one upsert
 * per distinct group instead of one per row per rollup.
 */
export class RollupDeltas {
  private readonly pending = pendingRollups();

  /**
   * Counts one new raw row (never a duplicate the insert ignored) in each rollup; `tags` is
   * the row's tags as stored (JSON), so they are serialized once per row.
   */
  add(row: LedgerRow, tags: string): void {
    const ts = row.timestampMs;
    const cost = row.costPico ?? 0n;
    const unpriced = isUnpriced(row) ? 1 : 0;
    // The group key is the slice start and the dimension values, NUL-separated; the values'
    // part is built once for rollups that keep the same columns (the two org rollups).
    let keptDims: readonly Dimension[] | null = null;
    let valuesKey = '';
    for (const { rollup, dims, deltas } of this.pending) {
      if (dims !== keptDims) {
        keptDims = dims;
        valuesKey = '';
        for (const dim of dims) valuesKey += `\u0000${dim(row, tags)}`;
      }
      const bucketMs = Math.floor(ts / rollup.grainMs) * rollup.grainMs;
      const key = bucketMs + valuesKey;
      const delta = deltas.get(key);
      if (delta) {
        delta.cost += cost;
        delta.requests += 1;
        delta.input += row.inputTokens;
        delta.output += row.outputTokens;
        delta.cached += row.cachedInputTokens;
        delta.unpriced += unpriced;
      } else {
        deltas.set(key, {
          values: [bucketMs, ...dims.map((dim) => dim(row, tags))],
          cost,
          requests: 1,
          input: row.inputTokens,
          output: row.outputTokens,
          cached: row.cachedInputTokens,
          unpriced,
        });
      }
    }
  }

  /**
   * Each rollup with its batch's sums; `ordered` sorts them by group key, so concurrent writers
   * (replicas sharing a database) take row locks in the same order and cannot deadlock.
   */
  entries(ordered = false): { rollup: Rollup; deltas: Delta[] }[] {
    return this.pending.map(({ rollup, deltas }) => {
      if (!ordered) return { rollup, deltas: [...deltas.values()] };
      const sorted = [...deltas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return { rollup, deltas: sorted.map(([, delta]) => delta) };
    });
  }

  /** Forgets the batch's sums (written, or their transaction rolled back). */
  clear(): void {
    for (const { deltas } of this.pending) deltas.clear();
  }
}
