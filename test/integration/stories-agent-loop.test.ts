import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { picoToDecimal, usdToPico, type Pico } from '../../src/money/money.js';
import { countPromptTokens } from '../../src/tokens/count.js';
import { startAlertReceiver, type AlertReceiver } from '../support/alert-receiver.js';
import { ADMIN_ENV, chatEchoingMaxTokens, eventsOf, usdCost } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { allRowsOf } from '../support/stories.js';

// SPEC "The agent in a loop": ~200 identical calls a minute all night, a $50 daily budget, the
// breaker on. The client sends one call every 0.3 s of fake time. To keep the test to a few
// thousand requests, after 20 refusals in a row it slows to one call per 15 s until 5 calls in
// a row succeed (the breaker's cooldown and the loop window still end on a call), and once it
// has been refused for an hour it sends three calls per hour until 06:00. The night starts at
// 00:00 UTC so that it sits in one budget day.
const NIGHT_START = Date.parse('2026-03-11T00:00:00Z');
const NIGHT_END = Date.parse('2026-03-11T06:00:00Z');
const HOUR = 3_600_000;
const LOOP_YAML =
  'loop_detection: { scope: { org: "*" }, window: 60s, threshold: 10, action: reject }';
const SLOW_AFTER_REFUSALS = 20;
const FAST_AFTER_SUCCESSES = 5;
const SECRET = 'hook-secret-3';
const ORG = 'agents';
const REFUSALS = ['circuit_breaker_open', 'loop_detected', 'budget_exceeded'];
const ALERT_KINDS = ['anomaly', 'breaker_opened', 'budget_threshold'];

// gpt-4o at $2.50 / $10 per million: a prompt of N tokens (N a multiple of 4) and 5000 - N/4
// completion tokens cost exactly $0.05, and max_tokens reserves exactly that.
function loopBody(): { body: string; promptTokens: number; maxTokens: number } {
  let text = 'Call the lookup tool again for order 1182 and report its shipping status.';
  for (;;) {
    const messages = [{ role: 'user', content: text }];
    const promptTokens = countPromptTokens('chat', { model: 'gpt-4o', messages }, 'gpt-4o').tokens;
    if (promptTokens % 4 === 0) {
      const maxTokens = 5000 - promptTokens / 4;
      const body = JSON.stringify({ model: 'gpt-4o', messages, max_tokens: maxTokens });
      return { body, promptTokens, maxTokens };
    }
    text += ' again';
  }
}
const CALL = loopBody();

type Refusal = { seq: number; atMs: number; reason: string | null; retryAfter: string | null };
type Night = { sent: number; served: number; refusals: Refusal[] };

let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('gpt-4o', CALL.promptTokens));
});

afterAll(async () => {
  await upstream.close();
});

function configFor(hookUrl: string, loops: boolean): string {
  return `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.5, output_per_mtok: 10 }
channels:
  oncall: { type: webhook, url: ${hookUrl}, secret_env: HOOK_SECRET }
alerting: { backoff_ms: [10, 50] }
budgets:
  - name: org-daily
    scope: { org: "*" }
    limit_usd: 50
    period: 1d
    alerts: [{ at: 50, channels: [oncall] }]
anomaly: { scope: { org: "*" }, multiplier: 10, window: 5m, baseline: 24h, min_usd_per_hour: 1,
           channels: [oncall] }
circuit_breaker: { scope: { org: "*" }, max_usd_per_minute: 5, cooldown: 10m, channels: [oncall] }
${loops ? LOOP_YAML : ''}
`;
}

/** Sends the looping call all night and returns what the client saw. */
async function runNight(
  gateway: TestGateway,
  clock: ReturnType<typeof fakeClock>,
  progress: { sent: number },
): Promise<Night> {
  const night: Night = { sent: 0, served: 0, refusals: [] };
  const url = `${gateway.url}/openai/v1/chat/completions`;
  let refusedInARow = 0;
  let servedInARow = 0;
  let slow = false;
  let refusedSinceMs: number | null = null;
  while (clock.now() < NIGHT_END) {
    const answer = await post(url, CALL.body, { 'x-org-id': ORG });
    night.sent += 1;
    progress.sent = night.sent;
    if (answer.status === 200) {
      night.served += 1;
      servedInARow += 1;
      refusedInARow = 0;
      refusedSinceMs = null;
    } else {
      night.refusals.push({
        seq: night.sent,
        atMs: clock.now(),
        reason: answer.headers.get('x-spendgate-reason'),
        retryAfter: answer.headers.get('retry-after'),
      });
      if (answer.status !== 429) throw new Error(`call ${night.sent} answered ${answer.status}`);
      refusedInARow += 1;
      servedInARow = 0;
      refusedSinceMs ??= clock.now();
    }
    if (refusedInARow >= SLOW_AFTER_REFUSALS) slow = true;
    if (servedInARow >= FAST_AFTER_SUCCESSES) slow = false;
    const refusedForMs = refusedSinceMs === null ? 0 : clock.now() - refusedSinceMs;
    if (refusedForMs >= HOUR) clock.advance(refusedInARow % 3 === 0 ? HOUR : 300);
    else clock.advance(slow ? 15_000 : 300);
  }
  return night;
}

function sumPico(costs: (Pico | null)[]): Pico {
  return costs.reduce<Pico>((sum, c) => sum + (c ?? 0n), 0n);
}

describe.each([
  { variant: 'budget and breaker', loops: false },
  { variant: 'budget, breaker and loop detection', loops: true },
])('story: the agent in a loop ($variant)', ({ loops }) => {
  const clock = fakeClock(NIGHT_START);
  const progress = { sent: 0 };
  let receiver: AlertReceiver;
  let gateway: TestGateway;
  let night: Night;

  beforeAll(async () => {
    receiver = await startAlertReceiver(
      SECRET,
      () => Math.floor(clock.now() / 1000),
      () => progress.sent,
    );
    gateway = await startGateway(configFor(receiver.url, loops), {
      env: { ...ADMIN_ENV, HOOK_SECRET: SECRET },
      clock,
    });
    night = await runNight(gateway, clock, progress);
    await gateway.deps.alerts.flush();
  }, 60_000);

  afterAll(async () => {
    await gateway.close();
    await receiver.close();
  });

  it('prices each looping call at exactly 0.05 usd', () => {
    expect(picoToDecimal(usdCost(CALL.promptTokens, CALL.maxTokens, '2.5', '10'))).toBe('0.05');
  });

  it('keeps the ledger total of the org at or under 50 usd over the whole night', async ({
    annotate,
  }) => {
    const rows = await allRowsOf(gateway, { org: ORG });
    const total = sumPico(rows.map((r) => r.costPico));
    const reasons = new Map<string, number>();
    for (const r of night.refusals) {
      reasons.set(String(r.reason), (reasons.get(String(r.reason)) ?? 0) + 1);
    }
    const kinds = receiver.received.map((a) => `${String(a.json.kind)}@${a.mark}`);
    await annotate(
      `sent ${night.sent}, served ${night.served}, total ${picoToDecimal(total)} usd, ` +
        `first refusal #${night.refusals[0]?.seq} ${night.refusals[0]?.reason}, ` +
        `refusals ${JSON.stringify([...reasons])}, alerts at call # ${kinds.join(' ')}`,
    );

    expect(rows.length).toBe(night.sent);
    expect(total <= usdToPico('50')).toBe(true);
    expect(night.served).toBeLessThanOrEqual(1000);
    expect(night.refusals.length).toBeGreaterThan(0);
  });

  it('refuses with a spend reason and a whole-second retry-after', () => {
    for (const refusal of night.refusals) {
      expect(REFUSALS).toContain(refusal.reason);
      expect(refusal.retryAfter).toMatch(/^[1-9]\d*$/);
    }
  });

  it('is still refusing the loop at the end of the night', () => {
    const last = night.refusals.at(-1);
    expect(last?.seq).toBe(night.sent);
  });

  it('delivers a signed alert that was raised before the first refusal', () => {
    const first = night.refusals[0] as Refusal;
    const alerts = receiver.received.filter((a) => ALERT_KINDS.includes(String(a.json.kind)));
    const earliest = Math.min(...alerts.map((a) => Date.parse(String(a.json.occurred_at))));

    expect(alerts.length).toBeGreaterThan(0);
    expect(earliest).toBeLessThan(first.atMs);
    for (const alert of receiver.received) {
      expect(alert.verified).toBe(true);
      expect(alert.json.schema).toBe('spendgate.alert.v1');
      expect(alert.headers['x-spendgate-alert-id']).toBe(alert.json.id);
      expect(alert.json.scope).toEqual({ org: ORG });
    }
  });

  it('records the detection that stopped the loop as an event', async () => {
    const type = loops ? 'loop_detected' : 'breaker_opened';
    const events = await eventsOf(gateway, `type=${type}`);

    expect(events.length).toBeGreaterThan(0);
  });
});
