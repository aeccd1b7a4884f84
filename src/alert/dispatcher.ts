/**
 * Delivery of alerts off the request path. `notify` only checks the cooldown and queues; sends
 * run in the background with a bounded queue, exponential backoff between attempts and one log
 * line per outcome. Nothing here throws into the caller: a lost alert is logged, never a failed
 * request.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Alert } from './alert.js';
import { createEmailTransport } from './email.js';
import { alertingSchema, resolveChannels } from './schema.js';
import type { AlertingConfig, ChannelsConfig, ResolvedChannel } from './schema.js';
import { createSlackTransport } from './slack.js';
import { errorCode, type AlertTransport, type DeliverableAlert } from './transport.js';
import { createWebhookTransport } from './webhook.js';

/** What the rest of the gateway holds: fire-and-forget `notify`, plus shutdown hooks. */
export interface AlertDispatcher {
  /** Queues the alert for each of its channels and returns at once; never throws. */
  notify(alert: Alert): void;
  /** Resolves when nothing is queued, in flight or waiting to retry. */
  flush(): Promise<void>;
  /** Stops accepting alerts, drops queued and retrying ones (logged), waits for sends in flight. */
  close(): Promise<void>;
}

/** Everything the dispatcher needs; `transports` replaces or adds channels by name. */
export type AlertDispatcherOptions = {
  channels: ChannelsConfig;
  alerting?: AlertingConfig;
  env: Readonly<Record<string, string | undefined>>;
  clock: Clock;
  logger: Logger;
  transports?: Record<string, AlertTransport>;
  /** Sends running at once, across channels. @default 4 */
  concurrency?: number;
  /** Per-attempt limit for a receiver. @default 10000 */
  timeoutMs?: number;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
};

type Job = {
  alert: DeliverableAlert;
  channel: string;
  transport: AlertTransport;
  attempts: number;
  /** The suppression entry this job set, cleared if the alert is never delivered. */
  markKey: string;
  markedAtMs: number;
};

// Suppression entries are swept of expired keys once the map grows past this.
const SWEEP_AT = 10_000;

/**
 * The wait before retry number `attempts` (1 after the first failure): base × 2^(attempts−1),
 * capped at max, scaled by a jitter factor in [0.75, 1].
 */
export function backoffDelayMs(
  attempts: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** (attempts - 1));
  // Jitter spreads the retries of many alerts after one receiver outage; the 75% floor keeps
  // each wait longer than the one before, so the schedule stays exponential.
  return Math.round(exponential * (0.75 + 0.25 * random()));
}

/** Builds the dispatcher; throws `ConfigError` if a channel's environment variable is unusable. */
export function createAlertDispatcher(opts: AlertDispatcherOptions): AlertDispatcher {
  const alerting = opts.alerting ?? alertingSchema.parse(undefined);
  const { clock, logger } = opts;
  const [baseMs, maxMs] = alerting.backoff_ms;
  const concurrency = opts.concurrency ?? 4;
  const random = opts.random ?? Math.random;
  const transports = buildTransports(opts, alerting);

  const pending: Job[] = [];
  const waiting = new Map<NodeJS.Timeout, Job>();
  const lastSent = new Map<string, number>();
  const unknownLogged = new Set<string>();
  let idleWaiters: (() => void)[] = [];
  let inFlight = 0;
  let closed = false;
  let sweepAt = SWEEP_AT;

  const fields = (job: Job) => ({
    alertId: job.alert.id,
    kind: job.alert.kind,
    channel: job.channel,
  });

  const unmark = (job: Job): void => {
    // A repeat of an alert that never arrived must not be suppressed.
    if (lastSent.get(job.markKey) === job.markedAtMs) lastSent.delete(job.markKey);
  };

  const settleIfIdle = (): void => {
    if (pending.length > 0 || inFlight > 0 || waiting.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const dropOldest = (): void => {
    const job = pending.shift() ?? oldestWaiting();
    if (job === undefined) return;
    unmark(job);
    logger.warn({ event: 'alert.dropped', reason: 'queue_full', ...fields(job) }, 'alert dropped');
  };

  const oldestWaiting = (): Job | undefined => {
    for (const [timer, job] of waiting) {
      clearTimeout(timer);
      waiting.delete(timer);
      return job;
    }
    return undefined;
  };

  const flush = (): Promise<void> => {
    if (pending.length === 0 && inFlight === 0 && waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  };

  const pump = (): void => {
    while (inFlight < concurrency && pending.length > 0) {
      const job = pending.shift() as Job;
      inFlight += 1;
      void attempt(job);
    }
  };

  const attempt = async (job: Job): Promise<void> => {
    job.attempts += 1;
    try {
      await job.transport.send(job.alert);
      logger.info(
        { event: 'alert.delivered', attempts: job.attempts, ...fields(job) },
        'alert sent',
      );
    } catch (err) {
      failed(job, err);
    } finally {
      inFlight -= 1;
      pump();
      settleIfIdle();
    }
  };

  const failed = (job: Job, err: unknown): void => {
    const error = errorCode(err);
    if (closed || job.attempts >= alerting.max_attempts) {
      unmark(job);
      logger.error(
        { event: 'alert.delivery_failed', attempts: job.attempts, error, ...fields(job) },
        'alert not delivered',
      );
      return;
    }

    const delayMs = backoffDelayMs(job.attempts, baseMs, maxMs, random);
    logger.debug({ event: 'alert.retry', attempts: job.attempts, delayMs, error, ...fields(job) });
    const timer = setTimeout(() => {
      waiting.delete(timer);
      pending.push(job);
      pump();
    }, delayMs);
    // A retry must not keep a finished process alive; shutdown goes through flush or close.
    timer.unref();
    waiting.set(timer, job);
  };

  const sweep = (nowMs: number): void => {
    for (const [key, atMs] of lastSent) {
      if (nowMs - atMs >= alerting.cooldown) lastSent.delete(key);
    }
    sweepAt = Math.max(SWEEP_AT, lastSent.size * 2);
  };

  const enqueue = (alert: Alert, nowMs: number): void => {
    let deliverable: DeliverableAlert | undefined;
    for (const channel of alert.channels) {
      const transport = transports.get(channel);
      if (transport === undefined) {
        if (!unknownLogged.has(channel)) {
          unknownLogged.add(channel);
          logger.warn({ event: 'alert.unknown_channel', channel, kind: alert.kind }, 'no channel');
        }
        continue;
      }

      // Keyed per channel: a repeat already sent to finance may still be news to oncall.
      const markKey = `${channel}\u0000${alert.dedupeKey}`;
      const last = lastSent.get(markKey);
      if (last !== undefined && nowMs - last < alerting.cooldown) {
        logger.debug({ event: 'alert.suppressed', channel, dedupeKey: alert.dedupeKey });
        continue;
      }

      lastSent.set(markKey, nowMs);
      deliverable ??= withId(alert);
      if (pending.length + waiting.size >= alerting.queue_size) dropOldest();
      pending.push({
        alert: deliverable,
        channel,
        transport,
        attempts: 0,
        markKey,
        markedAtMs: nowMs,
      });
    }
    if (lastSent.size > sweepAt) sweep(nowMs);
  };

  return {
    notify(alert) {
      try {
        if (closed) {
          logger.warn({ event: 'alert.dropped', reason: 'closed', kind: alert.kind }, 'closed');
          return;
        }
        enqueue(alert, clock.now());
        pump();
      } catch (err) {
        logger.error({ event: 'alert.notify_failed', error: errorCode(err) }, 'alert not queued');
      }
    },

    flush,

    async close() {
      closed = true;
      for (const [timer, job] of waiting) {
        clearTimeout(timer);
        logger.error(
          {
            event: 'alert.delivery_failed',
            attempts: job.attempts,
            error: 'shutdown',
            ...fields(job),
          },
          'alert not delivered',
        );
      }
      waiting.clear();
      for (const job of pending.splice(0)) {
        logger.warn(
          { event: 'alert.dropped', reason: 'shutdown', ...fields(job) },
          'alert dropped',
        );
      }
      settleIfIdle();
      await flush();
      for (const transport of transports.values()) transport.close?.();
    },
  };
}

function withId(alert: Alert): DeliverableAlert {
  return alert.id === undefined ? { ...alert, id: randomUUID() } : (alert as DeliverableAlert);
}

function buildTransports(
  opts: AlertDispatcherOptions,
  alerting: AlertingConfig,
): Map<string, AlertTransport> {
  const injected = opts.transports ?? {};
  const configured = Object.fromEntries(
    Object.entries(opts.channels).filter(([name]) => !(name in injected)),
  );
  const { resolved, problems } = resolveChannels(configured, opts.env);
  if (problems.length > 0) throw new ConfigError('alert channels', problems);

  const transports = new Map<string, AlertTransport>(Object.entries(injected));
  for (const channel of resolved)
    transports.set(channel.name, buildTransport(channel, opts, alerting));
  return transports;
}

function buildTransport(
  channel: ResolvedChannel,
  opts: AlertDispatcherOptions,
  alerting: AlertingConfig,
): AlertTransport {
  const common = { dashboardUrl: alerting.dashboard_url, timeoutMs: opts.timeoutMs };
  if (channel.type === 'slack')
    return createSlackTransport({ ...common, webhookUrl: channel.webhookUrl });
  if (channel.type === 'webhook') {
    return createWebhookTransport({ ...common, ...channel, clock: opts.clock });
  }
  return createEmailTransport({ ...common, ...channel });
}
