import type { SpendRow } from './ledger.js';

/**
 * What every ledger's paged reads share: the opaque cursor of `GET /requests` and the mapping
 * of a `spendRows` record. Cursors are the same text whatever the ledger, so a client's cursor
 * keeps working when a deployment moves from SQLite to PostgreSQL.
 */

export function encodeCursor(ts: number, id: string): string {
  return Buffer.from(`${ts}:${id}`).toString('base64url');
}

/** A cursor's position, or null when it is not one `encodeCursor` wrote. */
export function decodeCursor(cursor: string): { ts: number; id: string } | null {
  const text = Buffer.from(cursor, 'base64url').toString();
  const colon = text.indexOf(':');
  const ts = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(ts)) return null;
  const id = text.slice(colon + 1);
  // base64url decoding skips what it cannot read: only a cursor that encodes back to itself is one.
  return encodeCursor(ts, id) === cursor ? { ts, id } : null;
}

/**
 * A `spendRows` record as a budget's view of the row. Integer columns may come as bigint
 * (SQLite with safe integers) or decimal text (PostgreSQL BIGINT); both convert exactly.
 */
export function spendRowOf(r: Record<string, unknown>): SpendRow {
  const cost = r.cost_pico as bigint | string | null;
  return {
    dims: {
      org: r.org as string,
      team: r.team as string,
      user: r.user as string,
      endpoint: r.endpoint as string,
      model: r.model as string,
      provider: r.provider as string,
      key: r.key_id as string | null,
      tags: JSON.parse(r.tags as string) as Record<string, string>,
    },
    costPico: cost === null || cost === undefined ? 0n : BigInt(cost),
    tokens: Number(r.tokens),
    atMs: Number(r.ts),
  };
}
