import type Database from 'better-sqlite3';
import { DAY_MS, HOUR_MS } from './buckets.js';
import type { RowRecord } from './sqlite-record.js';

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
  const { table, grainMs, columns } = rollup;
  const values = columns.map((c) => (c === 'key_id' ? "COALESCE(@key_id, '')" : `@${c}`));
  return `INSERT INTO ${table} (bucket_ms, ${columns.join(', ')}, ${SUMS.join(', ')})
    VALUES (@bucket_ms, ${values.join(', ')},
      @cost_pico, @requests, @input_tokens, @output_tokens, @cached_input_tokens)
    ON CONFLICT (bucket_ms, ${columns.join(', ')}) DO UPDATE SET
      cost_pico = cost_pico + excluded.cost_pico,
      requests = requests + excluded.requests,
      input_tokens = input_tokens + excluded.input_tokens,
      output_tokens = output_tokens + excluded.output_tokens,
      cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens`;
}

/** Adds newly written rows to every rollup; call inside the transaction that wrote them. */
export class RollupWriter {
  private readonly upserts: Database.Statement[];
  /** Per rollup, the batch's sums by slice and dimension values, written once per key. */
  private readonly pending: Map<string, Delta>[];

  constructor(db: Database.Database) {
    this.upserts = ROLLUPS.map((rollup) => db.prepare(upsertSql(rollup)));
    this.pending = ROLLUPS.map(() => new Map());
  }

  /** Counts one new raw row (never a duplicate the insert ignored) in each rollup. */
  add(record: RowRecord): void {
    const ts = Number(record.ts);
    ROLLUPS.forEach((rollup, i) => {
      const bucketMs = Math.floor(ts / rollup.grainMs) * rollup.grainMs;
      let key = String(bucketMs);
      for (const column of rollup.columns)
        key += `\u0000${(record as Record<string, unknown>)[column] ?? ''}`;
      const sums = this.pending[i] as Map<string, Delta>;
      const delta = sums.get(key);
      if (delta) {
        delta.cost_pico += BigInt(record.cost_pico ?? 0n);
        delta.requests += 1;
        delta.input_tokens += Number(record.input_tokens);
        delta.output_tokens += Number(record.output_tokens);
        delta.cached_input_tokens += Number(record.cached_input_tokens);
      } else {
        sums.set(key, {
          ...record,
          bucket_ms: bucketMs,
          cost_pico: BigInt(record.cost_pico ?? 0n),
          requests: 1,
          input_tokens: Number(record.input_tokens),
          output_tokens: Number(record.output_tokens),
          cached_input_tokens: Number(record.cached_input_tokens),
        });
      }
    });
  }

  /**
   * Writes the batch's sums: one upsert per distinct slice and dimension values instead of one
   * per row per rollup. Call inside the transaction that wrote the raw rows.
   */
  flush(): void {
    this.upserts.forEach((upsert, i) => {
      const sums = this.pending[i] as Map<string, Delta>;
      for (const delta of sums.values()) upsert.run(delta);
      sums.clear();
    });
  }

  /** Forgets the batch's sums when its transaction rolled back. */
  discard(): void {
    for (const sums of this.pending) sums.clear();
  }
}

type Delta = RowRecord & {
  bucket_ms: number;
  cost_pico: bigint;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
};
