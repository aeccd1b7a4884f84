import type { Admission, Hold } from '../engine/types.js';
import { GatewayError, type Reason } from '../errors.js';
import type { Pico } from '../money/money.js';
import type { RequestDims } from '../policy/scope.js';
import { computeCost, type Resolution } from '../pricing/index.js';
import { tokenUsage } from '../providers/types.js';
import type { RequestAbort } from './request-abort.js';
import type { ProxyDeps } from './deps.js';
import type { RequestRecord } from './request-record.js';
import { publishGuardEvents } from './guard-events.js';
import { refusalMessage, type Counted } from './refusal-message.js';

const SEVERITY = { allow: 0, warn: 1, throttle: 2 } as const;

/** What an admitted request carries to its end. */
export type Admitted = {
  hold: Hold;
  headers: Record<string, string>;
  /** Whether a budget that cuts streams applies (null: nothing cuts this stream). */
  streamLimitPico: Pico | null;
  /** The worst case reserved at admission. */
  reservedPico: Pico;
};

const MESSAGES: Partial<Record<Reason, string>> = {
  budget_exceeded: 'budget exceeded',
  circuit_breaker_open: 'the spend circuit breaker is open',
  loop_detected: 'the same request repeated in a loop',
  tpm_exceeded: 'tokens-per-minute limit exceeded',
  tpd_exceeded: 'tokens-per-day limit exceeded',
  rpm_exceeded: 'requests-per-minute limit exceeded',
  kill_switch: 'blocked by a kill switch',
  store_unavailable: 'the counter store is unavailable and enforcement fails closed',
};

/**
 * Holds the request's worst case against every budget and rate limit that applies: the
 * counted prompt plus the largest completion it may produce, at the model's rates. Throws the
 * rejection (429 with the policy's headers) when one refuses; delays a throttled request.
 */
export async function admit(
  deps: ProxyDeps,
  record: RequestRecord,
  resolution: Resolution,
  counted: { input: number; maxOutput: number },
  request: { path: string; body: unknown },
  abort: RequestAbort,
): Promise<Admitted> {
  const row = record.row;
  const dims = dimsOf(record);
  if (!resolution.rates && deps.enforcer.appliesEnforcing(dims)) {
    throw new GatewayError(
      'unknown_model',
      `model "${row.model}" has no price, so it cannot be held to the budgets that apply; add it to pricing.models`,
    );
  }

  const reservation = resolution.rates
    ? computeCost(tokenUsage(counted.input, counted.maxOutput), resolution.rates)
    : 0n;
  return admitReservation(
    deps,
    record,
    dims,
    {
      costPico: reservation,
      tokens: counted.input + counted.maxOutput,
      path: request.path,
      body: request.body,
      counted,
    },
    abort,
  );
}

/**
 * Endpoints Spendgate does not meter reserve nothing, but kill switches and request limits
 * apply to them, and a budget already past its limit refuses them too.
 */
export function admitUnmetered(
  deps: ProxyDeps,
  record: RequestRecord,
  path: string,
  abort: RequestAbort,
): Promise<Admitted> {
  const reservation = { costPico: 0n, tokens: 0, path, body: null };
  return admitReservation(deps, record, dimsOf(record), reservation, abort);
}

async function admitReservation(
  deps: ProxyDeps,
  record: RequestRecord,
  dims: RequestDims,
  ask: { costPico: bigint; tokens: number; path: string; body: unknown; counted?: Counted },
  abort: RequestAbort,
): Promise<Admitted> {
  const row = record.row;
  // The breaker and loop checks first: they are in-process and refuse without charging.
  const guard = deps.guards.check({
    dims,
    path: ask.path,
    model: row.model || null,
    body: ask.body,
  });
  publishGuardEvents(deps, guard.events);
  if (!guard.allowed) {
    throw rejection(deps, record, {
      allowed: false,
      reason: guard.reason,
      retryAfterSeconds: guard.retryAfterSeconds,
      headers: {},
    });
  }
  const admission = await deps.enforcer.admit({ dims, costPico: ask.costPico, tokens: ask.tokens });

  if (!admission.allowed) throw rejection(deps, record, admission, ask.counted);
  if (admission.failOpen) record.flag('fail_open');
  for (const name of admission.shadowRejected) {
    record.flag('shadow_rejected');
    deps.events.record(
      'shadow_rejection',
      `shadow budget "${name}" would have rejected a request`,
      {
        scope: { org: row.org, team: row.team, user: row.user },
        data: { budget: name, request_id: row.requestId },
        dedupeKey: `${name}\u0000${row.org}\u0000${row.team}\u0000${row.user}`,
      },
    );
  }
  const action =
    SEVERITY[guard.action] > SEVERITY[admission.action] ? guard.action : admission.action;
  const delayMs = Math.max(guard.delayMs, admission.delayMs);
  const headers = mergedHeaders(admission.headers, guard.headers);
  row.decision = action;
  if (action !== 'allow') {
    deps.events.record(
      action === 'warn' ? 'warning' : 'throttle',
      headers['x-spendgate-budget-warning'] ?? headers['x-spendgate-loop-warning'] ?? action,
      {
        scope: { org: row.org, team: row.team, user: row.user },
        data: { delay_ms: delayMs, request_id: row.requestId },
        dedupeKey: `${row.org}\u0000${row.team}\u0000${row.user}`,
      },
    );
  }
  if (action === 'throttle' && delayMs > 0) await delay(delayMs, abort);

  return {
    hold: admission.hold,
    headers,
    streamLimitPico: admission.streamLimitPico,
    reservedPico: ask.costPico,
  };
}

/**
 * After the response: commits the row's actual cost and tokens in place of the reservation, or
 * releases all of it when nothing was charged. A store failure here is logged; the ledger row
 * is already queued.
 */
export function settleAdmitted(deps: ProxyDeps, admitted: Admitted, record: RequestRecord): void {
  settleHold(deps, admitted.hold, record);
}

/** {@link settleAdmitted} for a caller that kept only the hold (a decision awaiting usage). */
export function settleHold(deps: ProxyDeps, hold: Hold, record: RequestRecord): void {
  const row = record.row;
  const cost = row.costPico ?? 0n;
  const tokens = row.inputTokens + row.outputTokens;
  const done = cost === 0n && tokens === 0 ? hold.release() : hold.settle(cost, tokens);
  // The spend rates behind anomalies and the breaker see every settled request, failures at 0.
  publishGuardEvents(deps, deps.guards.observe(dimsOf(record), cost));
  done.catch((err: unknown) => {
    deps.logger.error(
      { event: 'budget.settle_failed', requestId: row.requestId, err: (err as Error).message },
      'could not settle a budget reservation',
    );
  });
}

/** The budgets' headers and the guards', without a copy when the guards have none (the rule). */
function mergedHeaders(
  budgets: Record<string, string>,
  guards: Record<string, string>,
): Record<string, string> {
  for (const _ in guards) return { ...budgets, ...guards };
  return budgets;
}

function dimsOf(record: RequestRecord): RequestDims {
  const row = record.row;
  return {
    org: row.org,
    team: row.team,
    user: row.user,
    endpoint: row.endpoint,
    model: row.model,
    provider: row.provider,
    key: row.keyId,
    tags: row.tags,
  };
}

function rejection(
  deps: ProxyDeps,
  record: RequestRecord,
  admission: Extract<Admission, { allowed: false }>,
  counted?: Counted,
): GatewayError {
  const row = record.row;
  // Guard and store refusals have no scope of their own: they name the whole tenant.
  const tenant = `org "${row.org}", team "${row.team}", user "${row.user}"`;
  const message = admission.refusal
    ? refusalMessage(admission.refusal, dimsOf(record), counted)
    : `${MESSAGES[admission.reason] ?? admission.reason} for ${tenant}`;
  deps.events.record('rejection', message, {
    scope: { org: row.org, team: row.team, user: row.user },
    data: { reason: admission.reason, budget: admission.budget ?? null, request_id: row.requestId },
    dedupeKey: `${admission.reason}\u0000${admission.budget ?? ''}\u0000${row.org}\u0000${row.team}\u0000${row.user}`,
  });
  return new GatewayError(admission.reason, message, {
    retryAfterSeconds: admission.retryAfterSeconds,
    headers: admission.headers,
  });
}

/** Waits `ms`, or less when the request is aborted meanwhile. */
function delay(ms: number, abort: RequestAbort): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      abort.off('abort', stop);
      resolve();
    }, ms);
    abort.once('abort', stop);
  });
}
