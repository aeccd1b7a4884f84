import type Database from 'better-sqlite3';
import { DAY_MS, HOUR_MS } from './buckets.js';
import type { LedgerRow } from './row.js';

/** A table of exact sums per time slice and dimension values, kept with the raw rows. */
export type Rollup = {
  table: string;
  /** Slice length; slices start at multiples of it since the epoch (UTC). */
  grainMs: number;
  /** Dimension columns kept; `key_id` holds '' for rows without a virtual key. */
  columns: readonly string[];
};

const ALL_COLUMNS = [
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

const SUMS = ['cost_pico', 'requests', 'input_tokens', 'output_tokens', 'cached_input_tokens'];

function rawExpression(column: string): string {
  return column === 'key_id' ? "COALESCE(key_id, '')" : column;
}

/** The migration that creates a rollup and fills it from the rows already in the ledger. */
function rollupMigration(rollup: Rollup): string {
  const { table, grainMs, columns } = rollup;
  const dims = columns.map(rawExpression);
  return `CREATE TABLE ${table} (
      bucket_ms INTEGER NOT NULL,
      ${columns.map((c) => `${c} TEXT NOT NULL`).join(', ')},
      ${SUMS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
      PRIMARY KEY (bucket_ms, ${columns.join(', ')})
    ) STRICT, WITHOUT ROWID;
    INSERT INTO ${table}
      SELECT (ts / ${grainMs}) * ${grainMs}, ${dims.join(', ')},
        SUM(COALESCE(cost_pico, 0)), COUNT(*), SUM(input_tokens), SUM(output_tokens),
        SUM(cached_input_tokens)
      FROM requests GROUP BY 1, ${dims.join(', ')};`;
}

/** Migrations that add the rollups to a ledger, built from its raw rows. */
export const ROLLUP_MIGRATIONS: string[] = ROLLUPS.map(rollupMigration);

function upsertSql(rollup: Rollup): string {
  const { table, columns } = rollup;
  // Positional parameters: the bucket, the dimensions in `columns` order, then `SUMS`.
  const marks = Array.from({ length: 1 + columns.length + SUMS.length }, () => '?');
  return `INSERT INTO ${table} (bucket_ms, ${columns.join(', ')}, ${SUMS.join(', ')})
    VALUES (${marks.join(', ')})
    ON CONFLICT (bucket_ms, ${columns.join(', ')}) DO UPDATE SET
      cost_pico = cost_pico + excluded.cost_pico,
      requests = requests + excluded.requests,
      input_tokens = input_tokens + excluded.input_tokens,
      output_tokens = output_tokens + excluded.output_tokens,
      cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens`;
}

/** A dimension column's value in a row; `key_id` is '' without a virtual key, as stored. */
const DIMENSION: Record<(typeof ALL_COLUMNS)[number], (row: LedgerRow, tags: string) => string> = {
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

/** One rollup's prepared pieces: its upsert, how to read its dimensions, the batch's sums. */
type Prepared = {
  grainMs: number;
  upsert: Database.Statement;
  dims: ((row: LedgerRow, tags: string) => string)[];
  pending: Map<string, Delta>;
};

/** Adds newly written rows to every rollup; call inside the transaction that wrote them. */
export class RollupWriter {
  private readonly rollups: Prepared[];

  constructor(db: Database.Database) {
    this.rollups = ROLLUPS.map((rollup) => ({
      grainMs: rollup.grainMs,
      upsert: db.prepare(upsertSql(rollup)),
      dims: rollup.columns.map((c) => DIMENSION[c as keyof typeof DIMENSION]),
      pending: new Map(),
    }));
  }

  /**
   * Counts one new raw row (never a duplicate the insert ignored) in each rollup; `tags` is
   * the row's tags as stored (JSON), so they are serialized once per row.
   */
  add(row: LedgerRow, tags: string): void {
    const ts = row.timestampMs;
    const cost = row.costPico ?? 0n;
    for (const rollup of this.rollups) {
      const bucketMs = Math.floor(ts / rollup.grainMs) * rollup.grainMs;
      const values: unknown[] = [bucketMs];
      let key = String(bucketMs);
      for (const dim of rollup.dims) {
        const value = dim(row, tags);
        values.push(value);
        key += `\u0000${value}`;
      }
      const delta = rollup.pending.get(key);
      if (delta) {
        delta.cost += cost;
        delta.requests += 1;
        delta.input += row.inputTokens;
        delta.output += row.outputTokens;
        delta.cached += row.cachedInputTokens;
      } else {
        rollup.pending.set(key, {
          values,
          cost,
          requests: 1,
          input: row.inputTokens,
          output: row.outputTokens,
          cached: row.cachedInputTokens,
        });
      }
    }
  }

  /**
   * Writes the batch's sums: one upsert per distinct slice and dimension values instead of one
   * per row per rollup. Call inside the transaction that wrote the raw rows.
   */
  flush(): void {
    for (const { upsert, pending } of this.rollups) {
      for (const d of pending.values()) {
        upsert.run(...d.values, d.cost, d.requests, d.input, d.output, d.cached);
      }
      pending.clear();
    }
  }

  /** Forgets the batch's sums when its transaction rolled back. */
  discard(): void {
    for (const { pending } of this.rollups) pending.clear();
  }
}

/** One slice's and dimension values' sums within a batch (`SUMS` order). */
type Delta = {
  values: unknown[];
  cost: bigint;
  requests: number;
  input: number;
  output: number;
  cached: number;
};
