import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminToken, GatewayConfig } from '../config/prepare.js';
import type { Ledger, RowFilter } from '../ledger/ledger.js';
import { authenticateAdmin } from './auth.js';
import { toJson } from './json.js';
import { rowToExport } from './row-json.js';

export type AdminDeps = { config: GatewayConfig; ledger: Ledger };

const DIMENSION_PARAMS = [
  'org',
  'team',
  'user',
  'endpoint',
  'model',
  'provider',
  'upstream',
  'decision',
] as const;
const MAX_PAGE = 1000;

/** The admin API under `/api/v1`: bearer admin tokens, JSON answers, scoped tokens confined. */
export async function handleAdmin(
  deps: AdminDeps,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const token = authenticateAdmin(req.headers.authorization, deps.config.adminTokens);
  if (!token) {
    const why =
      deps.config.adminTokens.length === 0
        ? 'no admin tokens are configured (admin.tokens)'
        : 'a valid admin token is required';
    return sendJsonError(res, 401, 'invalid_token', why);
  }

  const route = url.pathname.slice('/api/v1'.length);
  if (req.method === 'GET' && route === '/requests') return listRequests(deps, res, url, token);
  return sendJsonError(res, 404, 'not_found', `no admin endpoint ${req.method} ${url.pathname}`);
}

function listRequests(deps: AdminDeps, res: ServerResponse, url: URL, token: AdminToken): void {
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
  const filter = scopedFilter(params, token);
  if (!filter) return sendJson(res, 200, toJson({ data: [], next_cursor: null }));

  const page = deps.ledger.queryRequests(filter, limit, params.get('cursor'));
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
    if (key.startsWith('tag:')) (filter.tags ??= {})[key.slice(4)] = value;
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

export function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  sendJson(res, status, JSON.stringify({ error: { message, type: code, code } }));
}
