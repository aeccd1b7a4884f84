import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyDeps } from '../proxy/deps.js';
import { GatewayError } from '../errors.js';
import { authenticateAdmin } from './auth.js';
import { sendJsonError, type AdminCall } from './http.js';
import { listBudgets } from './routes/budgets.js';
import { listEvents } from './routes/events.js';
import { getExport } from './routes/export.js';
import { listBreakers, resetBreaker } from './routes/circuit-breakers.js';
import { createKillSwitch, deleteKillSwitch, listKillSwitches } from './routes/kill-switches.js';
import { listRequests } from './routes/requests.js';
import { getSpend } from './routes/spend.js';

type Route = {
  method: string;
  pattern: RegExp;
  /** Admin actions need an unscoped token: scoped tokens are read-only. */
  writes: boolean;
  handle: (call: AdminCall) => void | Promise<void>;
};

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/requests$/, writes: false, handle: listRequests },
  { method: 'GET', pattern: /^\/spend$/, writes: false, handle: getSpend },
  { method: 'GET', pattern: /^\/budgets$/, writes: false, handle: listBudgets },
  { method: 'GET', pattern: /^\/events$/, writes: false, handle: listEvents },
  { method: 'GET', pattern: /^\/export$/, writes: false, handle: getExport },
  { method: 'GET', pattern: /^\/kill-switches$/, writes: false, handle: listKillSwitches },
  { method: 'GET', pattern: /^\/circuit-breakers$/, writes: false, handle: listBreakers },
  { method: 'POST', pattern: /^\/circuit-breakers\/reset$/, writes: true, handle: resetBreaker },
  { method: 'POST', pattern: /^\/kill-switches$/, writes: true, handle: createKillSwitch },
  {
    method: 'DELETE',
    pattern: /^\/kill-switches\/([^/]+)$/,
    writes: true,
    handle: deleteKillSwitch,
  },
];

/** The admin API under `/api/v1`: bearer admin tokens, JSON answers, scoped tokens confined. */
export async function handleAdmin(
  deps: ProxyDeps,
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

  const path = url.pathname.slice('/api/v1'.length);
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match || route.method !== req.method) continue;
    if (route.writes && token.scope) {
      return sendJsonError(
        res,
        403,
        'forbidden',
        `admin token "${token.name}" is scoped and read-only`,
      );
    }
    try {
      return await route.handle({
        deps,
        req,
        res,
        url,
        token,
        params: match.slice(1).map(decodeSegment),
      });
    } catch (err) {
      // Bad input found inside a handler (a broken escape, an invalid tag name) is a 4xx.
      if (!(err instanceof GatewayError) || res.headersSent) throw err;
      return sendJsonError(res, err.httpStatus, err.code, err.message);
    }
  }
  const allowed = ROUTES.filter((r) => r.pattern.test(path)).map((r) => r.method);
  if (allowed.length > 0) {
    res.setHeader('allow', allowed.join(', '));
    return sendJsonError(
      res,
      405,
      'method_not_allowed',
      `${url.pathname} answers ${allowed.join(', ')}`,
    );
  }
  return sendJsonError(res, 404, 'not_found', `no admin endpoint ${req.method} ${url.pathname}`);
}

/** A path parameter, or a 400 for a broken percent-escape. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError('invalid_request', `"${segment}" is not a valid path segment`);
  }
}
