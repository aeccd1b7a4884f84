import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventType, GatewayEvent } from '../events/event.js';
import { silentLogger } from '../log/logger.js';
import { MIGRATIONS, openSqliteLedger } from './sqlite.js';
import { EVENT_TYPE_INDEX_MIGRATION, eventQuery } from './sqlite-events.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spendgate-sqlite-migrations-'));
  path = join(dir, 'ledger.db');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function event(i: number, type: EventType): GatewayEvent {
  return { id: `e${i}`, timestampMs: i, type, scope: {}, message: type, data: {}, actor: null };
}

/** The plan SQLite picks for the dashboard's query: the latest 50 events of one type. */
function planOf(db: Database.Database): string {
  const { sql, params } = eventQuery({ type: 'rejection', limit: 50 });
  const steps = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[];
  return steps.map((s) => s.detail).join('; ');
}

const versionsOf = (db: Database.Database) =>
  db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];

describe('sqlite ledger: the events-by-type index migration', () => {
  it('applies to a ledger of the previous version and the type query uses it', async () => {
    const first = openSqliteLedger({ path, logger: silentLogger() });
    const latest = Math.max(...versionsOf(first.db));
    const version = MIGRATIONS.indexOf(EVENT_TYPE_INDEX_MIGRATION) + 1;
    const types: EventType[] = ['rejection', 'warning', 'throttle', 'anomaly'];
    for (let i = 1; i <= 400; i++) first.events.append(event(i, types[i % 4] as EventType));
    await first.flush();
    // Without this migration, as a ledger written by the release before it.
    first.db.exec(
      `DROP INDEX events_type_ts; DELETE FROM schema_migrations WHERE version = ${version}`,
    );
    expect(planOf(first.db)).not.toContain('events_type_ts');
    await first.close();

    const reopened = openSqliteLedger({ path, logger: silentLogger() });
    const found = await reopened.events.query({ type: 'rejection', limit: 3 });

    expect(Math.max(...versionsOf(reopened.db))).toBe(latest);
    expect(planOf(reopened.db)).toBe('SEARCH events USING INDEX events_type_ts (type=?)');
    expect(found.map((e) => e.id)).toEqual(['e400', 'e396', 'e392']);
    await reopened.close();
  });
});
