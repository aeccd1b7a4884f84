import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock } from '../clock.js';
import { ALERT_SCHEMA, type Alert } from './alert.js';
import { startReceiver } from './receiver.fixture.js';
import { createSlackTransport } from './slack.js';
import { AlertDeliveryError } from './transport.js';
import { createWebhookTransport } from './webhook.js';

const ANOMALY: Alert & { id: string } = {
  id: 'alrt_1',
  kind: 'anomaly',
  severity: 'critical',
  title: 'Spend anomaly for team search',
  summary: 'Team search is spending far above its usual rate.',
  scope: { org: 'acme', team: 'search' },
  figures: {
    rate_usd_per_hour: 1234.56,
    baseline_usd_per_hour: 41.2,
    window: '5m',
    spent_usd: 1520,
    limit_usd: 2000,
    rule: 'team-30d',
  },
  atMs: Date.UTC(2026, 2, 1, 3, 0, 0),
  channels: ['oncall'],
  dedupeKey: 'anomaly|org=acme|team=search',
};

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

// What a receiver does: recompute the MAC over "<timestamp>.<raw body>", compare in constant time.
function verify(secret: string, timestamp: string, body: string, signature: string): boolean {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  const expected = `v1=${mac}`;
  return (
    expected.length === signature.length &&
    timingSafeEqual(Buffer.from(expected), Buffer.from(signature))
  );
}

describe('slack channel: the message a person reads at 3 a.m.', () => {
  it('names the scope, the rate, the baseline, the budget and links the dashboard', async () => {
    const slack = await startReceiver(() => 200);
    stops.push(slack.close);
    const transport = createSlackTransport({
      webhookUrl: slack.url,
      dashboardUrl: 'https://spend.example/dashboard',
    });

    await transport.send(ANOMALY);

    expect(slack.received).toHaveLength(1);
    const message = JSON.parse(slack.received[0]?.body ?? '') as {
      text: string;
      blocks: unknown[];
    };
    expect(message.text).toBe(
      [
        'Spend anomaly: Spend anomaly for team search',
        'Team search is spending far above its usual rate.',
        'Scope: org acme, team search.',
        'Spending $1,234.56 per hour over the last 5m, 30 times its baseline of $41.20 per hour.',
        'Budget team-30d: $1,520.00 of $2,000.00 spent (76%).',
        'Dashboard: https://spend.example/dashboard?org=acme&team=search',
      ].join('\n'),
    );
    expect(JSON.stringify(message.blocks)).toContain(
      '<https://spend.example/dashboard?org=acme&team=search|Open the dashboard for this scope>',
    );
    expect(slack.received[0]?.headers['content-type']).toBe('application/json');
  });

  it('escapes a scope value so it cannot become a slack link', async () => {
    const slack = await startReceiver(() => 200);
    stops.push(slack.close);
    const transport = createSlackTransport({ webhookUrl: slack.url });

    await transport.send({ ...ANOMALY, scope: { team: '<!channel>' }, figures: {} });

    const message = JSON.parse(slack.received[0]?.body ?? '') as { text: string };
    expect(message.text).toContain('Scope: team &lt;!channel&gt;.');
  });

  it('throws on an answer of 300 or more, naming the status but not the url', async () => {
    const slack = await startReceiver(() => 404);
    stops.push(slack.close);
    const transport = createSlackTransport({ webhookUrl: `${slack.url}/T000/B000/XXXX` });

    const error = await transport.send(ANOMALY).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect((error as AlertDeliveryError).message).toBe('HTTP 404');
  });
});

describe('webhook channel: signed json', () => {
  it('posts the v1 schema with a signature the receiver verifies with the secret', async () => {
    const target = await startReceiver(() => 204);
    stops.push(target.close);
    const clock = fakeClock(Date.UTC(2026, 2, 1, 3, 0, 5));
    const transport = createWebhookTransport({
      name: 'oncall',
      url: target.url,
      secret: 'whsec_test',
      headers: { 'X-Team': 'platform' },
      dashboardUrl: 'https://spend.example/dashboard',
      clock,
    });

    await transport.send(ANOMALY);

    const got = target.received[0];
    const timestamp = String(got?.headers['x-spendgate-timestamp']);
    const signature = String(got?.headers['x-spendgate-signature']);
    expect(timestamp).toBe('1772334005');
    expect(verify('whsec_test', timestamp, got?.body ?? '', signature)).toBe(true);
    expect(verify('whsec_test', timestamp, `${got?.body} `, signature)).toBe(false);
    expect(verify('other', timestamp, got?.body ?? '', signature)).toBe(false);
    expect(got?.headers['x-spendgate-alert-id']).toBe('alrt_1');
    expect(got?.headers['x-team']).toBe('platform');
    expect(JSON.parse(got?.body ?? '')).toEqual({
      schema: ALERT_SCHEMA,
      id: 'alrt_1',
      kind: 'anomaly',
      severity: 'critical',
      title: 'Spend anomaly for team search',
      summary: 'Team search is spending far above its usual rate.',
      scope: { org: 'acme', team: 'search' },
      figures: {
        rate_usd_per_hour: 1234.56,
        baseline_usd_per_hour: 41.2,
        spent_usd: 1520,
        limit_usd: 2000,
        threshold_pct: null,
        requests: null,
        window: '5m',
        rule: 'team-30d',
      },
      occurred_at: '2026-03-01T03:00:00.000Z',
      dedupe_key: 'anomaly|org=acme|team=search',
      channel: 'oncall',
      dashboard_url: 'https://spend.example/dashboard?org=acme&team=search',
    });
  });

  it('rejects a tampered body at a receiver that checks the signature', async () => {
    const target = await startReceiver((_, req) => {
      const ok = verify(
        'whsec_test',
        String(req.headers['x-spendgate-timestamp']),
        req.body.replace('"critical"', '"info"'),
        String(req.headers['x-spendgate-signature']),
      );
      return ok ? 200 : 401;
    });
    stops.push(target.close);
    const transport = createWebhookTransport({
      name: 'oncall',
      url: target.url,
      secret: 'whsec_test',
      clock: fakeClock(0),
    });

    await expect(transport.send(ANOMALY)).rejects.toThrow('HTTP 401');
  });

  it('sends no signature header without a secret', async () => {
    const target = await startReceiver(() => 200);
    stops.push(target.close);
    const transport = createWebhookTransport({
      name: 'oncall',
      url: target.url,
      secret: undefined,
      clock: fakeClock(0),
    });

    await transport.send(ANOMALY);

    expect(target.received[0]?.headers['x-spendgate-signature']).toBeUndefined();
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const target = await startReceiver(() => new Promise<number>(() => undefined));
    stops.push(target.close);
    const transport = createWebhookTransport({
      name: 'oncall',
      url: target.url,
      secret: 'x',
      clock: fakeClock(0),
      timeoutMs: 50,
    });

    await expect(transport.send(ANOMALY)).rejects.toThrow('request failed: TimeoutError');
  });
});
