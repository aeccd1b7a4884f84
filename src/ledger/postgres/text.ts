/**
 * PostgreSQL `text` cannot hold U+0000, and `json ->> key` refuses a `\u0000` escape. Client
 * text reaches rows through JWT claims, query parameters and JSON bodies (`"model": "a\u0000"`),
 * so a NUL there would make the database refuse the row (set aside, missing from spend and from
 * the budget rebuild) or break every tag query that reads it. Each NUL is stored as U+FFFD
 * instead, in rows, events and the parameters of reads, so filters still find what was stored.
 */
import type { GatewayEvent } from '../../events/event.js';
import type { LedgerRow } from '../row.js';

const NUL = /\u0000/g;
const REPLACEMENT = '\ufffd';

/** A string as PostgreSQL can store it; other values unchanged. */
export function pgText<T>(value: T): T {
  return (
    typeof value === 'string' && value.includes('\u0000') ? value.replace(NUL, REPLACEMENT) : value
  ) as T;
}

/** Statement parameters with every string made storable. */
export function pgValues(values: readonly unknown[]): unknown[] {
  return values.map(pgText);
}

/** A JSON value with every string (keys too) made storable. */
function pgJson(value: unknown): unknown {
  if (typeof value === 'string') return pgText(value);
  if (Array.isArray(value)) return value.map(pgJson);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[pgText(key)] = pgJson(inner);
  return out;
}

/** A row whose text fields and tags PostgreSQL can store and query. */
export function pgRow(row: LedgerRow): LedgerRow {
  const safe = { ...row } as Record<string, unknown>;
  for (const [key, value] of Object.entries(safe)) safe[key] = pgText(value);
  const out = safe as LedgerRow;
  out.flags = row.flags.map(pgText);
  out.tags = pgJson(row.tags) as Record<string, string>;
  return out;
}

/** An event whose text, scope and data PostgreSQL can store and query. */
export function pgEvent(event: GatewayEvent): GatewayEvent {
  return {
    ...event,
    id: pgText(event.id),
    message: pgText(event.message),
    actor: pgText(event.actor),
    scope: pgJson(event.scope) as Record<string, string>,
    data: pgJson(event.data) as Record<string, unknown>,
  };
}
