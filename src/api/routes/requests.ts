import type { AdminToken } from '../../config/prepare.js';
import { FILTER_COLUMNS, type RowFilter } from '../../ledger/ledger.js';
import { GatewayError } from '../../errors.js';
import { decodeCursor } from '../../ledger/pages.js';
import { TAG_NAME } from '../../identity/sources.js';
import { sendJson, sendJsonError, type AdminCall } from '../http.js';
import { toJson } from '../json.js';
import { rowToExport } from '../row-json.js';

const DIMENSION_PARAMS = FILTER_COLUMNS;
const MAX_PAGE = 1000;

/** `GET /requests`: raw ledger rows, newest first, paginated by cursor. */
export async function listRequests({ deps, res, url, token }: AdminCall): Promise<void> {
  const params = url.searchParams;
  const limitText = params.get('limit');
  const limit = limitText === null ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      `limit must be a whole number from 1 to ${MAX_PAGE}`,
    );
  }
  const cursor = params.get('cursor') || null;
  if (cursor !== null && decodeCursor(cursor) === null) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      'cursor is not one this API gave out: pass next_cursor from the previous page as it is',
    );
  }
  const filter = scopedFilter(params, token);
  if (!filter) return sendJson(res, 200, toJson({ data: [], next_cursor: null }));

  const page = await deps.ledger.queryRequests(filter, limit, cursor);
  sendJson(res, 200, toJson({ data: page.rows.map(rowToExport), next_cursor: page.nextCursor }));
}

/**
 * The row filter a request asks for, narrowed to the token's scope. A scoped token asking for
 * another scope's values gets nothing (null), whatever the parameters say.
 */
export function scopedFilter(params: URLSearchParams, token: AdminToken): RowFilter | null {
  const filter: RowFilter = {};
  for (const name of DIMENSION_PARAMS) {
    const value = params.get(name);
    if (value !== null) filter[name] = value;
  }
  for (const [key, value] of params) {
    if (key.startsWith('tag:')) (filter.tags ??= {})[checkedTagName(key.slice(4))] = value;
  }
  for (const [dimension, value] of Object.entries(token.scope ?? {})) {
    if (dimension.startsWith('tag:')) {
      const tags = (filter.tags ??= {});
      const name = dimension.slice(4);
      if (tags[name] !== undefined && tags[name] !== value) return null;
      tags[name] = value;
      continue;
    }
    const key = dimension as (typeof DIMENSION_PARAMS)[number];
    if (filter[key] !== undefined && filter[key] !== value) return null;
    filter[key] = value;
  }
  return filter;
}

/** A tag name from a query parameter; tag names are letters, digits, `_`, `.` and `-`. */
export function checkedTagName(name: string): string {
  if (!TAG_NAME.test(name)) {
    throw new GatewayError(
      'invalid_request',
      `"${name}" is not a tag name (letters, digits, _ . - only)`,
    );
  }
  return name;
}
