import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, systemClock } from '../clock.js';
import type { Alert } from './alert.js';
import { backoffDelayMs, createAlertDispatcher, type AlertDispatcher } from './dispatcher.js';
import { alertingSchema, channelsSchema } from './schema.js';
import { captureLogger, startReceiver } from './receiver.fixture.js';
import type { AlertTransport, DeliverableAlert } from './transport.js';

const SECRET = 'whsec_do_not_log';

function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    kind: 'budget_threshold',
    severity: 'warning',
    title: 'Budget org-daily at 90% for org acme',
    summary: 'Org acme has used 90% of its daily budget.',
    scope: { org: 'acme' },
    figures: { spent_usd: 90, limit_usd: 100, threshold_pct: 90, rule: 'org-daily' },
    atMs: 0,
    channels: ['oncall'],
    dedupeKey: 'budget_threshold|org=acme|org-daily|90',
    ...overrides,
  };
}

function webhookChannels(url: string) {
  return channelsSchema.parse({ oncall: { type: 'webhook', url, secret_env: 'HOOK_SECRET' } });
}

const env = { HOOK_SECRET: SECRET };
const fast = alertingSchema.parse({ backoff_ms: [20, 1000], max_attempts: 4 });
const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of open.splice(0)) await stop();
});

function track(dispatcher: AlertDispatcher): AlertDispatcher {
  open.push(() => dispatcher.close());
  return dispatcher;
}

describe('alert delivery: retries with exponential backoff', () => {
  it('retries a receiver failing twice, with a longer gap before the third attempt', async () => {
    const target = await startReceiver((index) => (index < 2 ? 500 : 200));
    open.push(target.close);
    const { logger, lines } = captureLogger();
    const dispatcher = track(
      createAlertDispatcher({
        channels: webhookChannels(target.url),
        alerting: fast,
        env,
        clock: systemClock,
        logger,
      }),
    );

    dispatcher.notify(alert({ id: 'alrt_retry' }));
    await dispatcher.flush();

    const times = target.received.map((r) => r.atMs);
    expect(times).toHaveLength(3);
    const [first, second, third] = times as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(14);
    expect(third - second).toBeGreaterThanOrEqual(29);
    expect(third - second).toBeGreaterThan(second - first);
    expect(new Set(target.received.map((r) => r.headers['x-spendgate-alert-id']))).toEqual(
      new Set(['alrt_retry']),
    );
    const delivered = lines.filter((l) => l.event === 'alert.delivered');
    expect(delivered).toMatchObject([
      { level: 30, alertId: 'alrt_retry', channel: 'oncall', attempts: 3 },
    ]);
    expect(lines.filter((l) => l.event === 'alert.retry').map((l) => l.error)).toEqual([
      'HTTP 500',
      'HTTP 500',
    ]);
  });

  it('stops after max_attempts against a receiver that always fails and logs it once', async () => {
    const target = await startReceiver(() => 503);
    open.push(target.close);
    const { logger, lines, raw } = captureLogger();
    const dispatcher = track(
      createAlertDispatcher({
        channels: webhookChannels(target.url),
        alerting: fast,
        env,
        clock: systemClock,
        logger,
      }),
    );

    dispatcher.notify(alert({ id: 'alrt_lost' }));
    await dispatcher.flush();

    expect(target.received).toHaveLength(4);
    expect(lines.filter((l) => l.event === 'alert.delivery_failed')).toMatchObject([
      { level: 50, alertId: 'alrt_lost', channel: 'oncall', attempts: 4, error: 'HTTP 503' },
    ]);
    expect(raw.join('')).not.toContain(SECRET);
  });

  it('grows the wait exponentially up to the max, with jitter of at most a quarter', () => {
    const waits = [1, 2, 3, 4, 10].map((n) => backoffDelayMs(n, 1000, 60_000, () => 0.999999));

    expect(waits).toEqual([1000, 2000, 4000, 8000, 60_000]);
    expect(backoffDelayMs(3, 1000, 60_000, () => 0)).toBe(3000);
  });
});

describe('alert delivery: never blocks the caller', () => {
  it('returns from notify before a hanging receiver has even seen the request', async () => {
    const events: string[] = [];
    let answer: ((status: number) => void) | undefined;
    let arrived: (() => void) | undefined;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const target = await startReceiver(
      () =>
        new Promise<number>((resolve) => {
          events.push('receiver got the request');
          answer = resolve;
          arrived?.();
        }),
    );
    open.push(target.close);
    const dispatcher = track(
      createAlertDispatcher({
        channels: webhookChannels(target.url),
        alerting: fast,
        env,
        clock: systemClock,
        logger: captureLogger().logger,
      }),
    );

    dispatcher.notify(alert());
    events.push('notify returned');
    await arrival;
    events.push('receiver answers');
    answer?.(200);
    await dispatcher.flush();

    expect(events).toEqual(['notify returned', 'receiver got the request', 'receiver answers']);
  });

  it('drops alerts waiting to retry on close, logging each as not delivered', async () => {
    const { logger, lines } = captureLogger();
    const dispatcher = createAlertDispatcher({
      channels: {},
      alerting: alertingSchema.parse({ backoff_ms: [60_000, 60_000] }),
      env: {},
      clock: systemClock,
      logger,
      transports: { oncall: { send: async () => Promise.reject(new Error('down')) } },
    });

    dispatcher.notify(alert({ id: 'alrt_shutdown' }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await dispatcher.close();
    dispatcher.notify(alert());

    expect(lines.filter((l) => l.event === 'alert.delivery_failed')).toMatchObject([
      { alertId: 'alrt_shutdown', attempts: 1, error: 'shutdown' },
    ]);
    expect(lines.filter((l) => l.event === 'alert.dropped')).toMatchObject([{ reason: 'closed' }]);
    await dispatcher.flush();
  });

  it('never throws from notify, even for an alert naming an unknown channel', () => {
    const { logger, lines } = captureLogger();
    const dispatcher = track(
      createAlertDispatcher({ channels: {}, env: {}, clock: systemClock, logger }),
    );

    dispatcher.notify(alert({ channels: ['nowhere'] }));
    dispatcher.notify(alert({ channels: ['nowhere'] }));

    expect(lines.filter((l) => l.event === 'alert.unknown_channel')).toMatchObject([
      { level: 40, channel: 'nowhere' },
    ]);
  });
});

function recordingTransport(): AlertTransport & { sent: DeliverableAlert[] } {
  const sent: DeliverableAlert[] = [];
  return { sent, send: async (a) => void sent.push(a) };
}

describe('alert delivery: suppression of repeats', () => {
  it('drops a repeat within the cooldown and sends it again after', async () => {
    const clock = fakeClock(1_000_000);
    const transport = recordingTransport();
    const dispatcher = track(
      createAlertDispatcher({
        channels: {},
        alerting: alertingSchema.parse({ cooldown: '15m' }),
        env: {},
        clock,
        logger: captureLogger().logger,
        transports: { oncall: transport },
      }),
    );

    dispatcher.notify(alert({ title: 'first' }));
    clock.advance(15 * 60_000 - 1);
    dispatcher.notify(alert({ title: 'repeat' }));
    dispatcher.notify(alert({ title: 'other scope', dedupeKey: 'budget_threshold|org=zen' }));
    clock.advance(1);
    dispatcher.notify(alert({ title: 'after cooldown' }));
    await dispatcher.flush();

    expect(transport.sent.map((a) => a.title)).toEqual(['first', 'other scope', 'after cooldown']);
  });

  it('does not suppress a repeat of an alert that was never delivered', async () => {
    const clock = fakeClock(0);
    let fail = true;
    const titles: string[] = [];
    const dispatcher = track(
      createAlertDispatcher({
        channels: {},
        alerting: alertingSchema.parse({ max_attempts: 1 }),
        env: {},
        clock,
        logger: captureLogger().logger,
        transports: {
          oncall: {
            send: async (a) => {
              if (fail) throw new Error('down');
              titles.push(a.title);
            },
          },
        },
      }),
    );

    dispatcher.notify(alert({ title: 'lost' }));
    await dispatcher.flush();
    fail = false;
    dispatcher.notify(alert({ title: 'repeat' }));
    await dispatcher.flush();

    expect(titles).toEqual(['repeat']);
  });
});

describe('alert delivery: bounded queue', () => {
  it('drops the oldest queued alert when the queue is full', async () => {
    let release: (() => void) | undefined;
    const titles: string[] = [];
    const { logger, lines } = captureLogger();
    const dispatcher = track(
      createAlertDispatcher({
        channels: {},
        alerting: alertingSchema.parse({ queue_size: 2 }),
        env: {},
        clock: systemClock,
        logger,
        concurrency: 1,
        transports: {
          oncall: {
            send: async (a) => {
              if (a.title === 'a') await new Promise<void>((resolve) => (release = resolve));
              titles.push(a.title);
            },
          },
        },
      }),
    );

    for (const title of ['a', 'b', 'c', 'd']) {
      dispatcher.notify(alert({ id: `id_${title}`, title, dedupeKey: title }));
    }
    release?.();
    await dispatcher.flush();

    expect(titles).toEqual(['a', 'c', 'd']);
    expect(lines.filter((l) => l.event === 'alert.dropped')).toMatchObject([
      { level: 40, reason: 'queue_full', alertId: 'id_b', channel: 'oncall' },
    ]);
  });
});

describe('alert delivery: configuration', () => {
  it('refuses to start when a channel secret is missing, naming only the variable', () => {
    const build = () =>
      createAlertDispatcher({
        channels: webhookChannels('https://hooks.example/spend'),
        env: {},
        clock: systemClock,
        logger: captureLogger().logger,
      });

    expect(build).toThrow('channels.oncall: HOOK_SECRET is unset or empty');
  });

  it('signs webhook deliveries with the secret from the env record', async () => {
    const target = await startReceiver(() => 200);
    open.push(target.close);
    const dispatcher = track(
      createAlertDispatcher({
        channels: webhookChannels(target.url),
        env,
        clock: fakeClock(1_700_000_000_000),
        logger: captureLogger().logger,
      }),
    );

    dispatcher.notify(alert());
    await dispatcher.flush();

    const got = target.received[0];
    const mac = createHmac('sha256', SECRET).update(`1700000000.${got?.body}`).digest('hex');
    expect(got?.headers['x-spendgate-signature']).toBe(`v1=${mac}`);
  });
});
