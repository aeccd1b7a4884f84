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
    VALUES ((CAST(@ts AS INTEGER) / ${grainMs}) * ${grainMs}, ${values.join(', ')},
      COALESCE(@cost_pico, 0), 1, @input_tokens, @output_tokens, @cached_input_tokens)
    ON CONFLICT (bucket_ms, ${columns.join(', ')}) DO UPDATE SET
      cost_pico = cost_pico + excluded.cost_pico,
      requests = requests + 1,
      input_tokens = input_tokens + excluded.input_tokens,
      output_tokens = output_tokens + excluded.output_tokens,
      cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens`;
}

/** Adds newly written rows to every rollup; call inside the transaction that wrote them. */
export class RollupWriter {
  private readonly upserts: Database.Statement[];

  constructor(db: Database.Database) {
    this.upserts = ROLLUPS.map((rollup) => db.prepare(upsertSql(rollup)));
  }

  /** Counts one new raw row (never a duplicate the insert ignored) in each rollup. */
  add(record: RowRecord): void {
    for (const upsert of this.upserts) upsert.run(record);
  }
}
