import type pg from 'pg';
import { FIRST_SUMS, ROLLUPS, UNPRICED_SQL, type Rollup } from '../rollups.js';
import { checkOut } from './checkout.js';

/**
 * The PostgreSQL ledger's schema, as ordered, versioned migrations. A migration is never edited
 * once released: a change is a new entry at the end. Every table is prefixed `spendgate_`, so
 * the ledger can share a database with other applications.
 */
export type Migration = { version: number; name: string; sql: string };

/** Where the applied versions are kept. */
export const MIGRATIONS_TABLE = 'spendgate_migrations';

/**
 * Advisory lock key taken (for the transaction) while migrating: replicas starting at once
 * migrate one after the other, and the later ones find nothing left to do. ASCII "Spendgat".
 */
export const MIGRATION_LOCK_KEY = '6012417027344916852';

/** How long the client waits for one migration step (the pool's read timeout is far shorter). */
const MIGRATION_TIMEOUT_MS = 6 * 3_600_000;

/** A statement with the migration's client-side timeout (`pg` reads it; its types omit it). */
function unhurried(text: string): pg.QueryConfig {
  return { text, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig;
}

/** The name of a rollup's table in PostgreSQL. */
export function rollupTable(rollup: Rollup): string {
  return `spendgate_${rollup.table}`;
}

/** A column name quoted for SQL: `user` is a reserved word in PostgreSQL. */
export function ident(column: string): string {
  return `"${column.replace(/"/g, '""')}"`;
}

function rawExpression(column: string): string {
  return column === 'key_id' ? "COALESCE(key_id, '')" : ident(column);
}

/**
 * A rollup's table and its fill from the rows already in the ledger. The primary key is the
 * slice plus a SHA-256 of the dimension values (kept by a generated column): a key over the
 * values themselves would refuse rows whose tags pass the B-tree entry limit (about 2.7 kB), and
 * a refused batch would block the ledger.
 */
function rollupMigration(rollup: Rollup): string {
  const table = rollupTable(rollup);
  const columns = rollup.columns.map(ident);
  const dims = rollup.columns.map(rawExpression);
  return `CREATE TABLE ${table} (
      bucket_ms BIGINT NOT NULL,
      ${columns.map((c) => `${c} TEXT NOT NULL`).join(', ')},
      cost_pico NUMERIC NOT NULL,
      ${FIRST_SUMS.slice(1)
        .map((c) => `${c} BIGINT NOT NULL`)
        .join(', ')},
      group_key BYTEA GENERATED ALWAYS AS (spendgate_group_key(ARRAY[${columns.join(', ')}])) STORED,
      PRIMARY KEY (bucket_ms, group_key)
    );
    INSERT INTO ${table} (bucket_ms, ${columns.join(', ')}, ${FIRST_SUMS.join(', ')})
      SELECT (ts / ${rollup.grainMs}) * ${rollup.grainMs}, ${dims.join(', ')},
        SUM(COALESCE(cost_pico, 0)), COUNT(*), SUM(input_tokens), SUM(output_tokens),
        SUM(cached_input_tokens)
      FROM spendgate_requests GROUP BY 1, ${dims.map((_, i) => String(i + 2)).join(', ')};`;
}

/**
 * Adds `unpriced_requests` to a rollup and counts the unpriced rows already in the ledger into
 * it. Groups are matched by their key, computed from the raw rows as the rollup computes it.
 */
function unpricedMigration(rollup: Rollup): string {
  const table = rollupTable(rollup);
  const dims = rollup.columns.map(rawExpression);
  return `ALTER TABLE ${table} ADD COLUMN unpriced_requests BIGINT NOT NULL DEFAULT 0;
    UPDATE ${table} AS r SET unpriced_requests = u.n
      FROM (SELECT (ts / ${rollup.grainMs}) * ${rollup.grainMs} AS b,
              spendgate_group_key(ARRAY[${dims.join(', ')}]) AS k, COUNT(*) AS n
            FROM spendgate_requests WHERE ${UNPRICED_SQL} GROUP BY 1, 2) AS u
      WHERE r.bucket_ms = u.b AND r.group_key = u.k;`;
}

/** Every migration, in version order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'requests',
    // Request ids and other sort keys use the "C" collation: byte order, as SQLite compares
    // text, so keyset pages and cursors agree across ledgers whatever the database's locale.
    sql: `CREATE TABLE spendgate_requests (
        request_id TEXT COLLATE "C" PRIMARY KEY,
        ts BIGINT NOT NULL,
        org TEXT NOT NULL, team TEXT NOT NULL, "user" TEXT NOT NULL, endpoint TEXT NOT NULL,
        provider TEXT NOT NULL, upstream TEXT NOT NULL, model TEXT NOT NULL,
        resolved_model TEXT, deployment TEXT,
        status INTEGER NOT NULL, decision TEXT NOT NULL, reason TEXT, streamed BOOLEAN NOT NULL,
        input_tokens BIGINT NOT NULL, cached_input_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        cost_pico BIGINT,
        usage_source TEXT NOT NULL, price_source TEXT, flags TEXT NOT NULL,
        latency_ms INTEGER NOT NULL, tags TEXT NOT NULL, key_id TEXT,
        counted_input_tokens BIGINT NOT NULL, counted_output_tokens BIGINT NOT NULL
      );
      CREATE INDEX spendgate_requests_ts ON spendgate_requests (ts, request_id);
      CREATE INDEX spendgate_requests_org_ts ON spendgate_requests (org, ts);`,
  },
  {
    version: 2,
    name: 'events and kill switches',
    sql: `CREATE TABLE spendgate_events (
        id TEXT COLLATE "C" PRIMARY KEY, ts BIGINT NOT NULL, type TEXT NOT NULL,
        scope TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL, actor TEXT
      );
      CREATE INDEX spendgate_events_ts ON spendgate_events (ts DESC, id DESC);
      CREATE TABLE spendgate_kill_switches (
        id TEXT COLLATE "C" PRIMARY KEY, dimension TEXT NOT NULL, value TEXT NOT NULL,
        expires_at BIGINT, reason TEXT, created_by TEXT NOT NULL, created_at BIGINT NOT NULL
      );`,
  },
  {
    version: 3,
    name: 'rollups',
    // Each value is prefixed with its byte length, so ('ab','c') and ('a','bc') differ.
    // IMMUTABLE holds: the database's encoding never changes under it.
    sql: `CREATE FUNCTION spendgate_group_key(parts TEXT[]) RETURNS BYTEA
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT sha256(convert_to(
          string_agg(octet_length(p)::text || ':' || p, '' ORDER BY i), 'UTF8'))
          FROM unnest(parts) WITH ORDINALITY AS u(p, i) $$;
      ${ROLLUPS.map(rollupMigration).join('\n')}`,
  },
  {
    version: 4,
    name: 'events by type',
    // The dashboard asks for the latest events of one type at a time (seven types every 5 s);
    // without this index each walks the whole ts index (about 50 ms at a million events). The
    // trailing id matches the queries' ORDER BY, so a page stops after LIMIT entries. Built in
    // the migration's transaction (not CONCURRENTLY): event appends wait for it, about a second
    // per million events, and they are queued in the spool meanwhile.
    sql: `CREATE INDEX spendgate_events_type_ts ON spendgate_events (type, ts DESC, id DESC);`,
  },
  {
    version: 5,
    name: 'unpriced requests in rollups',
    sql: ROLLUPS.map(unpricedMigration).join('\n'),
  },
];

/**
 * Applies the migrations not applied yet, all in one transaction under the advisory lock;
 * resolves to the versions it applied.
 */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await checkOut(pool);
  let failed: unknown;
  try {
    await client.query('BEGIN');
    // A migration that fills a table from a large ledger, or a replica waiting for another's
    // migration, may take far longer than any read: no statement timeout inside.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query(unhurried(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`));
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         version INTEGER PRIMARY KEY, name TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`)).rows.map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(unhurried(migration.sql));
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    failed = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A client whose connection failed is dropped instead of going back to the pool.
    client.done(failed instanceof Error ? failed : undefined);
  }
}
