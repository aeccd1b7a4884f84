import { randomUUID } from 'node:crypto';
import { isKillSwitchActive, type KillSwitch } from '../../policy/kill-switch.js';
import { isScopeKey } from '../../policy/scope.js';
import {
  parseIsoTime,
  readJsonObject,
  sendJson,
  sendJsonError,
  withinScope,
  type AdminCall,
} from '../http.js';
import { toJson } from '../json.js';
import { killSwitchAlert } from '../../alert/index.js';
import { loadKillSwitches } from '../../engine/kill-switch-sync.js';

/** `GET /kill-switches`: the switches in force. */
export async function listKillSwitches({ deps, res, token }: AdminCall): Promise<void> {
  const nowMs = deps.clock.now();
  const data = (await deps.ledger.killSwitches.load())
    .filter((k) => isKillSwitchActive(k, nowMs) && withinScope({ [k.dimension]: k.value }, token))
    .map(toView);
  sendJson(res, 200, toJson({ data }));
}

/**
 * `POST /kill-switches` with `{ "dimension": "org", "value": "acme", "expires_at"?: ISO time,
 * "reason"?: text }`: blocks that value at once, on this gateway and after a restart.
 */
export async function createKillSwitch({ deps, req, res, token }: AdminCall): Promise<void> {
  const body = await readJsonObject(req);
  if (!body) return sendJsonError(res, 400, 'invalid_request', 'the body must be a JSON object');
  const { dimension, value, expires_at: expiresAt, reason } = body;
  if (typeof dimension !== 'string' || !isScopeKey(dimension)) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      'dimension must be org, team, user, endpoint, model, provider, key or tag:<name>',
    );
  }
  if (typeof value !== 'string' || value === '') {
    return sendJsonError(res, 400, 'invalid_request', 'value must be a non-empty string');
  }
  const nowMs = deps.clock.now();
  let expiresMs: number | undefined;
  if (expiresAt !== undefined && expiresAt !== null) {
    expiresMs =
      typeof expiresAt === 'string' ? (parseIsoTime(expiresAt) ?? Number.NaN) : Number.NaN;
    if (Number.isNaN(expiresMs) || expiresMs <= nowMs) {
      return sendJsonError(
        res,
        400,
        'invalid_request',
        'expires_at must be an ISO 8601 time in the future',
      );
    }
  }
  if (reason !== undefined && typeof reason !== 'string') {
    return sendJsonError(res, 400, 'invalid_request', 'reason must be a string');
  }

  const record: KillSwitch = {
    id: `ks_${randomUUID().replace(/-/g, '').slice(0, 16)}`,
    dimension: dimension as KillSwitch['dimension'],
    value,
    expires_at: expiresMs,
    reason,
    created_by: token.name,
  };
  await deps.ledger.killSwitches.save(record, nowMs);
  await loadKillSwitches(deps.ledger, deps.enforcer);
  deps.events.record(
    'kill_switch_created',
    `kill switch ${dimension}=${value} set by ${token.name}`,
    {
      scope: { [dimension]: value },
      data: {
        id: record.id,
        expires_at: expiresMs === undefined ? null : new Date(expiresMs).toISOString(),
        reason: reason ?? null,
      },
      actor: token.name,
    },
  );
  deps.alerts.notify(
    killSwitchAlert(record, 'set', token.name, nowMs, deps.config.raw.alerting.admin_channels),
  );
  sendJson(res, 201, toJson(toView(record)));
}

/** `DELETE /kill-switches/<id>`: lifts a switch. */
export async function deleteKillSwitch({ deps, res, token, params }: AdminCall): Promise<void> {
  const id = params[0] ?? '';
  const record = (await deps.ledger.killSwitches.load()).find((k) => k.id === id);
  if (!record || !(await deps.ledger.killSwitches.delete(id))) {
    return sendJsonError(res, 404, 'not_found', `no kill switch ${id}`);
  }
  await loadKillSwitches(deps.ledger, deps.enforcer);
  deps.events.record(
    'kill_switch_deleted',
    `kill switch ${record.dimension}=${record.value} lifted by ${token.name}`,
    {
      scope: { [record.dimension]: record.value },
      data: { id },
      actor: token.name,
    },
  );
  deps.alerts.notify(
    killSwitchAlert(
      record,
      'lifted',
      token.name,
      deps.clock.now(),
      deps.config.raw.alerting.admin_channels,
    ),
  );
  sendJson(res, 200, toJson({ deleted: id }));
}

function toView(k: KillSwitch): Record<string, unknown> {
  return {
    id: k.id,
    dimension: k.dimension,
    value: k.value,
    expires_at: k.expires_at === undefined ? null : new Date(k.expires_at).toISOString(),
    reason: k.reason ?? null,
    created_by: k.created_by,
  };
}
