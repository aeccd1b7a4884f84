import type Database from 'better-sqlite3';
import type { LedgerRow } from './row.js';
import {
  deltaSums,
  FIRST_SUMS,
  ROLLUPS,
  RollupDeltas,
  SUMS,
  UNPRICED_SQL,
  type Rollup,
} from './rollups.js';

export { ROLLUPS, type Rollup };

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
      ${FIRST_SUMS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
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

/**
 * Adds `unpriced_requests` to a rollup and counts the unpriced rows already in the ledger into
 * it, group by group (a group the raw rows have is in the rollup: both were written together).
 */
function unpricedMigration(rollup: Rollup): string {
  const { table, grainMs, columns } = rollup;
  const dims = columns.map(rawExpression);
  const matches = columns.map((c, i) => `${table}.${c} = u.d${i}`);
  return `ALTER TABLE ${table} ADD COLUMN unpriced_requests INTEGER NOT NULL DEFAULT 0;
    UPDATE ${table} SET unpriced_requests = u.n
      FROM (SELECT (ts / ${grainMs}) * ${grainMs} AS b,
              ${dims.map((d, i) => `${d} AS d${i}`).join(', ')}, COUNT(*) AS n
            FROM requests WHERE ${UNPRICED_SQL} GROUP BY 1, ${dims.join(', ')}) AS u
      WHERE ${table}.bucket_ms = u.b AND ${matches.join(' AND ')};`;
}

/** The migration that gives every rollup its count of unpriced requests. */
export const UNPRICED_MIGRATION: string = ROLLUPS.map(unpricedMigration).join('\n');

function upsertSql(rollup: Rollup): string {
  const { table, columns } = rollup;
  // Positional parameters: the bucket, the dimensions in `columns` order, then `SUMS`.
  const marks = Array.from({ length: 1 + columns.length + SUMS.length }, () => '?');
  return `INSERT INTO ${table} (bucket_ms, ${columns.join(', ')}, ${SUMS.join(', ')})
    VALUES (${marks.join(', ')})
    ON CONFLICT (bucket_ms, ${columns.join(', ')}) DO UPDATE SET
      ${SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`;
}

/** Adds newly written rows to every rollup; call inside the transaction that wrote them. */
export class RollupWriter {
  private readonly upserts: Map<string, Database.Statement>;
  private readonly deltas = new RollupDeltas();

  constructor(db: Database.Database) {
    this.upserts = new Map(ROLLUPS.map((rollup) => [rollup.table, db.prepare(upsertSql(rollup))]));
  }

  /**
   * Counts one new raw row (never a duplicate the insert ignored) in each rollup; `tags` is
   * the row's tags as stored (JSON), so they are serialized once per row.
   */
  add(row: LedgerRow, tags: string): void {
    this.deltas.add(row, tags);
  }

  /**
   * Writes the batch's sums: one upsert per distinct slice and dimension values instead of one
   * per row per rollup. Call inside the transaction that wrote the raw rows.
   */
  flush(): void {
    for (const { rollup, deltas } of this.deltas.entries()) {
      const upsert = this.upserts.get(rollup.table) as Database.Statement;
      for (const d of deltas) {
        upsert.run(...d.values, ...deltaSums(d));
      }
    }
    this.deltas.clear();
  }

  /** Forgets the batch's sums when its transaction rolled back. */
  discard(): void {
    this.deltas.clear();
  }
}
