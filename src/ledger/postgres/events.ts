import type { EventFilter, EventLog, GatewayEvent } from '../../events/event.js';
import type { KillSwitch } from '../../policy/kill-switch.js';
import type { KillSwitchStore } from '../ledger.js';
import { Params, tagValue, whereSql, valuesSql } from './sql.js';
import type { RunQuery } from './spend.js';

export const EVENTS = 'spendgate_events';
export const KILL_SWITCHES = 'spendgate_kill_switches';

/** An event's values in `spendgate_events` column order. */
export function eventValues(event: GatewayEvent): unknown[] {
  return [
    event.id,
    event.timestampMs,
    event.type,
    JSON.stringify(event.scope),
    event.message,
    JSON.stringify(event.data, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    event.actor,
  ];
}

/** The insert of a batch's events; a replayed event is kept once. */
export function insertEventsSql(events: readonly GatewayEvent[], params: Params): string {
  return `INSERT INTO ${EVENTS} (id, ts, type, scope, message, data, actor)
    VALUES ${valuesSql(events.map(eventValues), params)} ON CONFLICT (id) DO NOTHING`;
}

/** Events in PostgreSQL: appends go out with the ledger's next batch (or its spool). */
export class PostgresEventLog implements EventLog {
  constructor(
    private readonly run: RunQuery,
    private readonly enqueue: (event: GatewayEvent) => void,
  ) {}

  append(event: GatewayEvent): void {
    this.enqueue(event);
  }

  async query(filter: EventFilter): Promise<GatewayEvent[]> {
    const params = new Params();
    const where: string[] = [];
    if (filter.type) where.push(`type = ${params.add(filter.type)}`);
    if (filter.sinceMs !== undefined) where.push(`ts >= ${params.add(filter.sinceMs)}`);
    for (const [name, value] of Object.entries(filter.scope ?? {})) {
      where.push(`${tagValue('scope', name, params)} = ${params.add(value)}`);
    }
    const sql = `SELECT * FROM ${EVENTS} ${whereSql(where)}
      ORDER BY ts DESC, id DESC LIMIT ${params.add(filter.limit)}`;
    const { rows } = await this.run(sql, params.values);
    return (rows as Record<string, string | null>[]).map((r) => ({
      id: r.id as string,
      timestampMs: Number(r.ts),
      type: r.type as GatewayEvent['type'],
      scope: JSON.parse(r.scope as string) as Record<string, string>,
      message: r.message as string,
      data: JSON.parse(r.data as string) as Record<string, unknown>,
      actor: r.actor ?? null,
    }));
  }
}

/** Kill switches are written at once and answered only once durable. */
export class PostgresKillSwitches implements KillSwitchStore {
  constructor(private readonly run: RunQuery) {}

  async save(record: KillSwitch, createdAtMs: number): Promise<void> {
    await this.run(
      `INSERT INTO ${KILL_SWITCHES} (id, dimension, value, expires_at, reason, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET dimension = EXCLUDED.dimension, value = EXCLUDED.value,
         expires_at = EXCLUDED.expires_at, reason = EXCLUDED.reason,
         created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at`,
      [
        record.id,
        record.dimension,
        record.value,
        record.expires_at ?? null,
        record.reason ?? null,
        record.created_by,
        createdAtMs,
      ],
    );
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.run(`DELETE FROM ${KILL_SWITCHES} WHERE id = $1`, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async load(): Promise<KillSwitch[]> {
    const { rows } = await this.run(`SELECT * FROM ${KILL_SWITCHES} ORDER BY created_at, id`, []);
    return (rows as Record<string, string | null>[]).map((r) => ({
      id: r.id as string,
      dimension: r.dimension as KillSwitch['dimension'],
      value: r.value as string,
      expires_at: r.expires_at === null ? undefined : Number(r.expires_at),
      reason: r.reason ?? undefined,
      created_by: r.created_by as string,
    }));
  }
}
