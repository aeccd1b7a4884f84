import type Database from 'better-sqlite3';
import type { EventFilter, EventLog, GatewayEvent } from '../events/event.js';
import type { KillSwitch } from '../policy/kill-switch.js';
import type { KillSwitchStore } from './ledger.js';

/** Tables for events and kill switches, in the ledger's database (see the migrations). */
export const EVENT_MIGRATIONS = [
  `CREATE TABLE events (
     id TEXT PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL, scope TEXT NOT NULL,
     message TEXT NOT NULL, data TEXT NOT NULL, actor TEXT
   ) STRICT`,
  `CREATE INDEX events_ts ON events (ts DESC)`,
  `CREATE TABLE kill_switches (
     id TEXT PRIMARY KEY, dimension TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER,
     reason TEXT, created_by TEXT NOT NULL, created_at INTEGER NOT NULL
   ) STRICT`,
];

/**
 * Events of one type, newest first: the dashboard asks for seven types every 5 s, and without
 * it each query walks the ts index past every event of the other types. A later migration than
 * {@link EVENT_MIGRATIONS}, so its version comes after the rollups'.
 */
export const EVENT_TYPE_INDEX_MIGRATION = `CREATE INDEX events_type_ts ON events (type, ts DESC, id DESC)`;

type EventRecord = {
  id: string;
  ts: number;
  type: string;
  scope: string;
  message: string;
  data: string;
  actor: string | null;
};

/** An event waiting for the ledger's next batch: its write, and the event to set aside if refused. */
export type PendingEvent = { readonly event: GatewayEvent; readonly write: () => void };

/** Events in SQLite; appends are queued and written with the ledger's next batch. */
export class SqliteEventLog implements EventLog {
  private readonly insert: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly enqueue: (pending: PendingEvent) => void,
  ) {
    this.insert = db.prepare(
      'INSERT OR IGNORE INTO events VALUES (@id, @ts, @type, @scope, @message, @data, @actor)',
    );
  }

  append(event: GatewayEvent): void {
    const record: EventRecord = {
      id: event.id,
      ts: event.timestampMs,
      type: event.type,
      scope: JSON.stringify(event.scope),
      message: event.message,
      data: JSON.stringify(event.data),
      actor: event.actor,
    };
    this.enqueue({ event, write: () => this.insert.run(record) });
  }

  async query(filter: EventFilter): Promise<GatewayEvent[]> {
    const { sql, params } = eventQuery(filter);
    return (this.db.prepare(sql).all(params) as EventRecord[]).map((r) => ({
      id: r.id,
      timestampMs: r.ts,
      type: r.type as GatewayEvent['type'],
      scope: JSON.parse(r.scope) as Record<string, string>,
      message: r.message,
      data: JSON.parse(r.data) as Record<string, unknown>,
      actor: r.actor,
    }));
  }
}

/** The statement and parameters of an events query (exported to check its query plan). */
export function eventQuery(filter: EventFilter): { sql: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit };
  if (filter.type) {
    where.push('type = @type');
    params.type = filter.type;
  }
  if (filter.sinceMs !== undefined) {
    where.push('ts >= @since');
    params.since = filter.sinceMs;
  }
  Object.entries(filter.scope ?? {}).forEach(([name, value], i) => {
    where.push(`json_extract(scope, @scope_path_${i}) = @scope_value_${i}`);
    params[`scope_path_${i}`] = `$."${name.replace(/"/g, '')}"`;
    params[`scope_value_${i}`] = value;
  });
  const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id DESC LIMIT @limit`;
  return { sql, params };
}

/** Kill switches are written at once (an operator's block must survive a crash right after). */
export class SqliteKillSwitches implements KillSwitchStore {
  constructor(private readonly db: Database.Database) {}

  async save(record: KillSwitch, createdAtMs: number): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO kill_switches VALUES (@id, @dimension, @value, @expires_at, @reason, @created_by, @created_at)',
      )
      .run({
        ...record,
        expires_at: record.expires_at ?? null,
        reason: record.reason ?? null,
        created_at: createdAtMs,
      });
  }

  async delete(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM kill_switches WHERE id = ?').run(id).changes > 0;
  }

  async load(): Promise<KillSwitch[]> {
    const rows = this.db.prepare('SELECT * FROM kill_switches').all() as (KillSwitch & {
      expires_at: number | null;
      reason: string | null;
    })[];
    return rows.map((r) => ({
      id: r.id,
      dimension: r.dimension,
      value: r.value,
      expires_at: r.expires_at ?? undefined,
      reason: r.reason ?? undefined,
      created_by: r.created_by,
    }));
  }
}
