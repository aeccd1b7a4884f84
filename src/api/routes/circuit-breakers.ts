import { isScopeKey } from '../../policy/scope.js';
import { publishGuardEvents } from '../../proxy/guard-events.js';
import { readJsonObject, sendJson, sendJsonError, withinScope, type AdminCall } from '../http.js';
import { toJson } from '../json.js';

/** `GET /circuit-breakers`: breakers that are open or half open, with their cooldown left. */
export function listBreakers({ deps, res, token }: AdminCall): void {
  const { breakers, trackedScopes } = deps.guards.view();
  const data = breakers
    .filter((b) => withinScope({ ...b.scope }, token))
    .map((b) => ({
      scope: b.scope,
      phase: b.phase,
      opened_at: new Date(b.openedAtMs).toISOString(),
      trigger: b.trigger,
      retry_after_seconds: b.retryAfterSeconds,
    }));
  sendJson(res, 200, toJson({ data, tracked_scopes: token.scope ? undefined : trackedScopes }));
}

/**
 * `POST /circuit-breakers/reset` with `{ "scope": { "org": "acme" } }`: closes the breakers of
 * exactly that scope at once; the change is an event naming the admin token.
 */
export async function resetBreaker({ deps, req, res, token }: AdminCall): Promise<void> {
  const body = await readJsonObject(req);
  const scope = body?.scope;
  if (!scope || typeof scope !== 'object' || Array.isArray(scope)) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      'the body must be {"scope": {"<dimension>": "<value>"}}',
    );
  }
  const entries = Object.entries(scope as Record<string, unknown>);
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string')) {
    return sendJsonError(res, 400, 'invalid_request', 'scope values must be strings');
  }
  const unknown = entries.find(([k]) => !isScopeKey(k));
  if (unknown) {
    return sendJsonError(res, 400, 'invalid_request', `"${unknown[0]}" is not a scope dimension`);
  }

  const result = deps.guards.reset(scope as Record<string, string>);
  publishGuardEvents(deps, result.events, token.name);
  if (!result.closed)
    return sendJsonError(res, 404, 'not_found', 'no open circuit breaker has that scope');
  sendJson(res, 200, toJson({ closed: true, scope }));
}
