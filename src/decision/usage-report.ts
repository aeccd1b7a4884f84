/**
 * `POST /v1/usage`: what an allowed decision's request really used, as the provider reported
 * it. The decision's row is priced from it exactly as the proxy prices a response, and its
 * reservation is committed at that cost. Reporting changes spend, so it takes an unscoped
 * admin token (scoped tokens are read-only).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateAdmin } from '../api/auth.js';
import { readJsonObject, sendJson, sendJsonError } from '../api/http.js';
import { toJson } from '../api/json.js';
import { rowToExport } from '../api/row-json.js';
import { GatewayError } from '../errors.js';
import { picoToDecimal } from '../money/money.js';
import { computeCost } from '../pricing/index.js';
import type { ProxyDeps } from '../proxy/deps.js';
import { usageOf } from '../proxy/request-body.js';
import type { Finished } from './pending.js';
import { settleReported } from './settle.js';

/** The usage report endpoint. */
export const USAGE_PATH = '/v1/usage';

const SHAPE = 'the body must be a JSON object: {"request_id", "model", "usage"}';

/** The most one ledger row can cost: a signed 64-bit count of pico-dollars. */
const MAX_ROW_COST_PICO = 2n ** 63n - 1n;

/** Request ids are UUIDs; anything far longer is refused before it is looked up or echoed. */
const MAX_ID_LENGTH = 128;

/** Why a report for an id that no longer waits is refused (409). */
const CONFLICTS: Record<Finished, string> = {
  reported: 'its usage was already reported',
  expired: 'its reservation was released when decision.usage_timeout passed (or at shutdown)',
  rejected: 'the decision was a refusal: nothing was held',
  unmetered: 'it was for an endpoint Spendgate does not meter: nothing was held',
  disconnected: 'the caller left before the decision was answered: nothing was held',
};

/** Answers one usage report: 200 with the settled row, or the reason it was not taken. */
export async function handleUsageReport(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    res.setHeader('allow', 'POST');
    return sendJsonError(res, 405, 'method_not_allowed', `${USAGE_PATH} takes POST`);
  }
  const token = authenticateAdmin(req.headers.authorization, deps.config.adminTokens);
  if (!token) {
    req.resume();
    const why =
      deps.config.adminTokens.length === 0
        ? 'no admin tokens are configured (admin.tokens)'
        : 'a valid admin token is required';
    return sendJsonError(res, 401, 'invalid_token', why);
  }
  if (token.scope) {
    req.resume();
    return sendJsonError(
      res,
      403,
      'forbidden',
      `admin token "${token.name}" is scoped and read-only; usage reports need an unscoped one`,
    );
  }

  let body: Record<string, unknown> | null;
  try {
    body = await readJsonObject(req);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return sendJsonError(res, err.httpStatus, err.code, err.message);
  }
  const report = body === null ? SHAPE : checkShape(body);
  if (typeof report === 'string') return sendJsonError(res, 400, 'invalid_request', report);

  const found = deps.decisions.peek(report.requestId);
  if (found === undefined) {
    return sendJsonError(
      res,
      404,
      'not_found',
      `no decision "${report.requestId}" is waiting for usage (unknown, or too old to remember)`,
    );
  }
  if (typeof found === 'string') {
    return sendJsonError(
      res,
      409,
      'conflict',
      `decision "${report.requestId}" takes no usage: ${CONFLICTS[found]}`,
    );
  }

  const failed = report.status >= 400;
  const usage = report.usage === undefined ? null : usageOf(found.op, report.usage);
  if (usage === null && !failed) {
    const shape = found.op === 'messages' ? 'Anthropic' : 'OpenAI';
    return sendJsonError(
      res,
      400,
      'invalid_request',
      `"usage" holds no token counts in the ${shape} shape this upstream returns`,
    );
  }

  if (usage !== null && !failed && found.rates !== null) {
    // A row holds at most 2^63 - 1 pico-dollars (a BIGINT); a dearer one would be refused by
    // the ledger's database. No single request costs that much: the usage is wrong.
    const cost = computeCost(usage, found.rates);
    if (cost > MAX_ROW_COST_PICO) {
      return sendJsonError(
        res,
        400,
        'invalid_request',
        `"usage" would cost $${picoToDecimal(cost)}, more than one request can be recorded at ($${picoToDecimal(MAX_ROW_COST_PICO)}); the decision keeps waiting`,
      );
    }
  }

  deps.decisions.take(report.requestId);
  const row = settleReported(found, { usage, status: report.status }, deps.clock.now());
  const headers: Record<string, string> = { 'x-spendgate-request-id': row.requestId };
  if (row.costPico !== null) headers['x-spendgate-cost-usd'] = picoToDecimal(row.costPico);
  sendJson(res, 200, toJson({ data: rowToExport(row) }), headers);
}

type Report = { requestId: string; usage: unknown; status: number };

/** The report's fields, or what is wrong with them. */
function checkShape(body: Record<string, unknown>): Report | string {
  const { request_id: requestId, model, usage, status } = body;
  if (typeof requestId !== 'string' || requestId === '' || requestId.length > MAX_ID_LENGTH) {
    return `"request_id" must be the x-spendgate-request-id of the decision; ${SHAPE}`;
  }
  if (model !== undefined && typeof model !== 'string') return '"model" must be a string';
  if (
    status !== undefined &&
    (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
  ) {
    return '"status" must be the HTTP status the provider answered with (100-599)';
  }
  const reported = (status as number | undefined) ?? 200;
  if (reported < 400 && (usage === null || typeof usage !== 'object' || Array.isArray(usage))) {
    return `"usage" must be the provider's usage object as returned; ${SHAPE}`;
  }
  return { requestId, usage: usage ?? undefined, status: reported };
}
