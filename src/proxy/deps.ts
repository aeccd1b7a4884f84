import type { GatewayConfig } from '../config/prepare.js';
import type { Clock } from '../clock.js';
import type { IdentityResolver } from '../identity/index.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log/logger.js';
import type { Pricer } from '../pricing/index.js';
import type { UpstreamPools } from './upstream-pool.js';
import type { UpstreamLimits } from './upstream-limits.js';
import type { Enforcer } from '../engine/engine.js';
import type { EventRecorder } from '../events/recorder.js';
import type { AlertDispatcher } from '../alert/index.js';
import type { Guards } from '../guards/guards.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { PendingDecisions } from '../decision/pending.js';
import type { ShutdownDeadline } from '../runtime/shutdown.js';

/** Everything the proxy path needs, built once per loaded config by the server's wiring. */
export type ProxyDeps = {
  config: GatewayConfig;
  pricer: Pricer;
  identity: IdentityResolver;
  ledger: Ledger;
  logger: Logger;
  clock: Clock;
  pools: UpstreamPools;
  upstreamLimits: UpstreamLimits;
  enforcer: Enforcer;
  alerts: AlertDispatcher;
  guards: Guards;
  metrics: GatewayMetrics;
  events: EventRecorder;
  /** Allowed decision-service answers waiting for their usage; shared across reloads. */
  decisions: PendingDecisions;
  /** When a graceful stop's grace period ends; shared across reloads. */
  shutdown: ShutdownDeadline;
};
