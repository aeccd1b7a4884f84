import { EVENT_TYPES, type EventType } from '../../events/event.js';
import { parseIsoTime, sendJson, sendJsonError, type AdminCall } from '../http.js';
import { toJson } from '../json.js';

/** `GET /events?type=&since=&limit=`: newest first; a scoped token sees its scope's only. */
export async function listEvents({ deps, res, url, token }: AdminCall): Promise<void> {
  const params = url.searchParams;
  const type = params.get('type');
  if (type !== null && !(EVENT_TYPES as readonly string[]).includes(type)) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      `type must be one of ${EVENT_TYPES.join(', ')}`,
    );
  }
  const since = params.get('since');
  const sinceMs = parseIsoTime(since);
  if (sinceMs !== undefined && Number.isNaN(sinceMs)) {
    return sendJsonError(res, 400, 'invalid_request', 'since must be an ISO 8601 time');
  }
  const limit = Number(params.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      'limit must be a whole number from 1 to 1000',
    );
  }

  const events = await deps.ledger.events.query({
    type: (type ?? undefined) as EventType | undefined,
    sinceMs,
    scope: token.scope ?? undefined,
    limit,
  });
  const data = events.map((e) => ({
    id: e.id,
    timestamp: new Date(e.timestampMs).toISOString(),
    type: e.type,
    scope: e.scope,
    message: e.message,
    data: e.data,
    actor: e.actor,
  }));
  sendJson(res, 200, toJson({ data }));
}
