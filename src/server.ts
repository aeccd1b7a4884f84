import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { handleAdmin } from './api/admin.js';
import { handleDashboard, isDashboardPath } from './dashboard/serve.js';
import { sendJson } from './api/http.js';
import { systemClock, type Clock } from './clock.js';
import type { GatewayConfig } from './config/prepare.js';
import { GatewayError } from './errors.js';
import { createIdentityResolver } from './identity/index.js';
import type { Ledger } from './ledger/ledger.js';
import { openLedger } from './ledger/open.js';
import { restoreFromLedger } from './engine/restore.js';
import { isSharedLedger, loadKillSwitches, pollKillSwitches } from './engine/kill-switch-sync.js';
import { silentLogger, type Logger } from './log/logger.js';
import { createPricer } from './pricing/index.js';
import { loadEncoding } from './tokens/index.js';
import { createEnforcer, RefusalLog } from './engine/engine.js';
import { EventRecorder } from './events/recorder.js';
import { budgetThresholdAlert, createAlertDispatcher, resolveChannels } from './alert/index.js';
import { openCounterStore } from './store/open.js';
import type { CounterStore } from './store/store.js';
import { createGuards } from './guards/guards.js';
import { createMetrics, exposition } from './metrics/metrics.js';
import type { ProxyDeps } from './proxy/deps.js';
import { sendError } from './proxy/error-response.js';
import { handleMetered } from './proxy/metered.js';
import { handleUnmetered } from './proxy/passthrough.js';
import { matchRoute } from './proxy/route.js';
import { unknownUpstreamError } from './proxy/unknown-upstream.js';
import { UpstreamLimits } from './proxy/upstream-limits.js';
import { UpstreamPools } from './proxy/upstream-pool.js';
import { ShutdownDeadline } from './runtime/shutdown.js';
import { handleDecision } from './decision/handler.js';
import { isDecisionCall } from './decision/original.js';
import { DEFAULT_USAGE_TIMEOUT_MS, PendingDecisions } from './decision/pending.js';
import { handleUsageReport, USAGE_PATH } from './decision/usage-report.js';

export type GatewayOptions = {
  logger?: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Use this ledger instead of opening the one the config names. */
  ledger?: Ledger;
};

/** A gateway built from one config: the HTTP server and everything behind it. */
export type Gateway = {
  server: Server;
  deps: ProxyDeps;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, lets requests in flight finish (up to `graceMs`), flushes the ledger. */
  close(graceMs?: number): Promise<void>;
  /**
   * Switches new requests to another config; budgets keep their spend. Refused (the old config
   * keeps serving) when the change needs a restart.
   */
  reload(next: GatewayConfig): Promise<{ ok: boolean; problem: string | null }>;
};

/** What outlives a config reload: storage, connections, counters, the event log, metrics. */
type Shared = Pick<
  ProxyDeps,
  | 'ledger'
  | 'logger'
  | 'clock'
  | 'pools'
  | 'upstreamLimits'
  | 'events'
  | 'metrics'
  | 'decisions'
  | 'shutdown'
> & {
  env: NodeJS.ProcessEnv;
  store: CounterStore;
  /** Budget instances' recent refusals, kept across reloads for `GET /budgets`. */
  refusals: RefusalLog;
};

/**
 * The parts built from one config: pricing, identity, enforcement (over the shared counter
 * store, so budgets keep their spend), guards and alert delivery.
 */
function buildPolicy(
  config: GatewayConfig,
  shared: Shared,
  keepGuards?: ProxyDeps['guards'],
): ProxyDeps {
  const { clock, env, logger, events, refusals } = shared;
  const baseDir = dirname(config.file);
  const alerts = createAlertDispatcher({
    channels: usableChannels(config, env, logger),
    alerting: config.raw.alerting,
    env,
    clock,
    logger,
  });
  const enforcer = createEnforcer({
    budgets: config.raw.budgets ?? [],
    rateLimits: config.raw.rate_limits ?? [],
    store: shared.store,
    clock,
    onStoreDown: config.raw.storage.on_store_down,
    logger,
    refusals,
    onEvent: (e) => {
      alerts.notify(budgetThresholdAlert(e));
      events.record(
        'budget_threshold',
        `budget "${e.budget}" passed ${e.at}% (${e.spentUsd} of ${e.limitUsd} USD)`,
        {
          scope: e.scope,
          data: {
            budget: e.budget,
            at: e.at,
            channels: e.channels,
            spent_usd: e.spentUsd,
            limit_usd: e.limitUsd,
          },
        },
      );
    },
  });
  return {
    ...shared,
    config,
    pricer: createPricer(config.raw.pricing, { nowMs: () => clock.now() }),
    identity: createIdentityResolver(
      {
        identity: config.raw.identity,
        attribution: config.raw.attribution,
        requireCredential: config.requireCredential,
      },
      { env, baseDir, clock },
    ),
    enforcer,
    alerts,
    guards:
      keepGuards ??
      createGuards({
        anomaly: config.raw.anomaly,
        breaker: config.raw.circuit_breaker,
        loops: config.raw.loop_detection,
        clock,
      }),
  };
}

/** Wires a gateway together; nothing listens until `listen`. */
export function createGateway(config: GatewayConfig, opts: GatewayOptions = {}): Gateway {
  const logger = opts.logger ?? silentLogger();
  const clock = opts.clock ?? systemClock;
  const env = opts.env ?? process.env;
  // Loading a tokenizer's ranks takes 100–250 ms: do it now, not on the first request.
  loadEncoding('o200k_base');
  loadEncoding('cl100k_base');
  const ledger =
    opts.ledger ??
    openLedger(config.raw.storage.ledger, {
      baseDir: dirname(config.file),
      logger,
      spoolDir: config.raw.storage.spool_dir,
    });
  const shared: Shared = {
    ledger,
    logger,
    clock,
    env,
    pools: new UpstreamPools(),
    upstreamLimits: new UpstreamLimits(),
    events: new EventRecorder(ledger.events, logger, clock),
    metrics: createMetrics(),
    store: openCounterStore(config.raw.storage.counters, {
      logger,
      clock,
      onStoreDown: config.raw.storage.on_store_down,
    }),
    refusals: new RefusalLog(),
    shutdown: new ShutdownDeadline(),
    decisions: new PendingDecisions({
      clock,
      logger,
      // Read at each sweep, so a reload's new timeout applies to the decisions waiting.
      usageTimeoutMs: () => deps.config.raw.decision?.usage_timeout ?? DEFAULT_USAGE_TIMEOUT_MS,
    }),
  };
  let deps = buildPolicy(config, shared);
  const ready = restoreFromLedger({ ...deps, store: shared.store });
  // Other replicas set and lift switches in a shared ledger: read them again now and then.
  const killSwitchPoll = isSharedLedger(config.raw.storage.ledger)
    ? pollKillSwitches({ ledger, enforcer: () => deps.enforcer, logger })
    : null;

  let closing = false;
  const inFlight = new InFlight();
  const server = createServer((req, res) => {
    // Each request runs on the config current when it arrived; a reload never changes it midway.
    inFlight.track(dispatch(deps, req, res, () => closing)).catch((err: unknown) => {
      logger.error(
        { event: 'request.unhandled', err: (err as Error).message },
        'request failed unexpectedly',
      );
      if (!res.headersSent)
        sendJson(
          res,
          500,
          JSON.stringify({
            error: { message: 'internal error', type: 'internal_error', code: 'internal_error' },
          }),
        );
      else res.destroy();
    });
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerUnparsable(err, socket));

  return {
    server,
    get deps() {
      return deps;
    },
    async reload(next: GatewayConfig) {
      const problem = reloadRefusal(deps.config, next);
      if (problem) return { ok: false, problem };
      const previous = deps;
      const guardsOf = (c: GatewayConfig): string =>
        stable([c.raw.anomaly, c.raw.circuit_breaker, c.raw.loop_detection]);
      // Unchanged guard rules keep their rates and open breakers across the reload.
      const sameGuards = guardsOf(previous.config) === guardsOf(next);
      const built = buildPolicy(next, shared, sameGuards ? previous.guards : undefined);
      try {
        await loadKillSwitches(shared.ledger, built.enforcer);
        await seedNewBudgets(previous.config, built, shared.store);
      } catch (err) {
        if (!(err instanceof GatewayError) || err.code !== 'store_unavailable') throw err;
        return { ok: false, problem: 'the ledger cannot be read; reload again once it answers' };
      }
      deps = built;
      shared.pools.retire(next.upstreams.values());
      // Requests in flight keep the old dispatcher; it is closed once they have had time.
      setTimeout(
        () => void previous.alerts.flush().finally(() => previous.alerts.close()),
        ALERT_DRAIN_MS,
      ).unref();
      return { ok: true, problem: null };
    },
    async listen(port = config.listen.port, host = config.listen.host) {
      await ready;
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      });
    },
    async close(graceMs = 10_000) {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // At the deadline streams still running end with their API's error event first; their
      // connections are closed a moment later, once those last writes have gone out.
      const timer = setTimeout(() => {
        shared.shutdown.pass();
        setTimeout(() => server.closeAllConnections(), CUT_WRITE_MS).unref();
      }, graceMs);
      await stopped;
      clearTimeout(timer);
      // Handlers of connections cut at the deadline still write their rows: wait for them.
      await inFlight.idle(HANDLER_DRAIN_MS);
      // Decisions still waiting for usage get their rows (released) before the ledger closes.
      shared.decisions.close();
      // Alerts still queued get a moment to go out; retries still waiting are dropped (logged).
      await Promise.race([
        deps.alerts.flush(),
        new Promise((r) => setTimeout(r, ALERT_DRAIN_MS).unref()),
      ]);
      await deps.alerts.close();
      await killSwitchPoll?.stop();
      await deps.ledger.close();
      await deps.pools.close();
      await shared.store.close?.();
    },
  };
}

/**
 * Requests Node's HTTP parser refuses (bad header bytes, headers over 16 KB) get a JSON error
 * like every other refusal, instead of an empty answer; the connection is then closed.
 */
function answerUnparsable(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const message = tooLarge
    ? 'the request headers are too large'
    : 'the request could not be parsed as HTTP';
  const body = JSON.stringify({
    error: { message, type: 'invalid_request', code: 'invalid_request' },
  });
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-spendgate-reason: invalid_request\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * Channels whose secret variable is unset or unusable are left out, with an error a person must
 * act on, as provider keys and admin tokens are: the gateway still serves and enforces.
 */
function usableChannels(config: GatewayConfig, env: NodeJS.ProcessEnv, logger: Logger) {
  const channels = { ...(config.raw.channels ?? {}) };
  for (const problem of resolveChannels(channels, env).problems) {
    const name = problem.path.replace(/^channels\./, '').split('.')[0] ?? '';
    delete channels[name];
    logger.error(
      { event: 'alert.channel_disabled', channel: name, path: problem.path },
      `alert channel "${name}" is disabled: ${problem.message}`,
    );
  }
  return channels;
}

/** How long a stop waits for queued alerts to be delivered. */
const ALERT_DRAIN_MS = 2_000;

/** How long a stop waits for handlers after their connections were closed. */
const HANDLER_DRAIN_MS = 5_000;

/** Between the end of the grace period and closing every connection: the streams' last writes. */
const CUT_WRITE_MS = 100;

/** Counts request handlers still running, so a stop can wait until every row is recorded. */
class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  track(work: Promise<void>): Promise<void> {
    this.count++;
    return work.finally(() => {
      this.count--;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  idle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** A parsed config section as text, to tell whether a reload changed it (bigints included). */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Why a new config cannot be taken without a restart (every reason, joined), or null. */
function reloadRefusal(current: GatewayConfig, next: GatewayConfig): string | null {
  const reasons: string[] = [];
  if (JSON.stringify(current.raw.storage) !== JSON.stringify(next.raw.storage)) {
    reasons.push('storage changes need a restart');
  }
  if (current.listen.host !== next.listen.host || current.listen.port !== next.listen.port) {
    reasons.push('listen address changes need a restart');
  }
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * Budgets that are new or changed in a reload start from the ledger's spend of their live
 * period, like at start; unchanged ones keep their counters as they are.
 */
async function seedNewBudgets(
  previous: GatewayConfig,
  next: ProxyDeps,
  store: CounterStore,
): Promise<void> {
  const before = new Map((previous.raw.budgets ?? []).map((b) => [b.name, stable(b)]));
  const changed = (next.config.raw.budgets ?? []).filter((b) => before.get(b.name) !== stable(b));
  if (changed.length === 0) return;
  await next.ledger.flush();
  const seeder = createEnforcer({ budgets: changed, rateLimits: [], store, clock: next.clock });
  const nowMs = next.clock.now();
  await seeder.seed(next.ledger.spendRows(seeder.seedSinceMs(nowMs)), nowMs);
}

/** `GET /metrics`: Prometheus text; gauges are read at scrape time. */
async function sendMetrics(deps: ProxyDeps, res: ServerResponse): Promise<void> {
  const budgets = await deps.enforcer.budgetsView(deps.clock.now());
  deps.metrics.setGauges({
    ledgerQueue: deps.ledger.pending(),
    budgets: budgets.map((b) => ({
      name: b.name,
      scope: Object.entries(b.scope)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      utilization: b.utilization,
    })),
  });
  const body = await exposition(deps.metrics.registry);
  res.writeHead(200, {
    'content-type': deps.metrics.registry.contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function dispatch(
  deps: ProxyDeps,
  req: IncomingMessage,
  res: ServerResponse,
  closing: () => boolean,
): Promise<void> {
  const url = req.url ?? '/';
  if (url === '/livez') return sendJson(res, 200, '{"status":"ok"}');
  if (url === '/readyz') {
    return closing()
      ? sendJson(res, 503, '{"status":"shutting_down"}')
      : sendJson(
          res,
          200,
          // Still ready while the ledger's database is out: rows are spooled and requests
          // served, so taking the gateway out of rotation would only make the outage worse.
          JSON.stringify({
            status: 'ready',
            config_version: deps.config.version,
            ledger: deps.ledger.health().state,
          }),
        );
  }
  if (url.startsWith('/api/v1/'))
    return handleAdmin(deps, req, res, new URL(url, 'http://gateway'));
  if (url.startsWith('/dashboard') && isDashboardPath(url.split('?')[0] as string)) {
    return handleDashboard(deps.clock, req, res, new URL(url, 'http://gateway'));
  }
  if (url === '/metrics' && req.method === 'GET') return sendMetrics(deps, res);
  if (isDecisionCall(url)) return handleDecision(deps, req, res);
  if (url === USAGE_PATH) return handleUsageReport(deps, req, res);

  const route = matchRoute(url, req.method ?? 'GET', deps.config.upstreams);
  if ('invalid' in route) {
    res.setHeader('x-spendgate-request-id', randomUUID());
    const dialect = url.includes('/messages') ? 'anthropic' : 'openai';
    return sendError(
      res,
      dialect,
      new GatewayError(
        'invalid_request',
        'the path has empty or dot segments or encoded slashes; send a normalised path',
      ),
    );
  }
  if ('unknown' in route) {
    res.setHeader('x-spendgate-request-id', randomUUID());
    const dialect = url.includes('/messages') ? 'anthropic' : 'openai';
    return sendError(
      res,
      dialect,
      unknownUpstreamError(route.unknown, deps.config.upstreams.keys()),
    );
  }
  if (route.op) return handleMetered(deps, req, res, route, route.op);
  return handleUnmetered(deps, req, res, route);
}
