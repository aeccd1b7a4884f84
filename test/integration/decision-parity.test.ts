import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import {
  ADMIN_ENV,
  ADMIN_YAML,
  budgetsOf,
  chatEchoingMaxTokens,
  timed,
} from '../support/budgets.js';
import { decide, policyView, reportUsage } from '../support/decision.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { anthropicMessage, anthropicUsage, chatUsage } from '../support/wire.js';

// The same requests, in the same order, through the proxy of one gateway and the decision
// service of another built from the same config on the same clock: every answer must carry the
// same status, policy headers and refusal body. Output costs $0.01 a token and input nothing,
// so a request reserves exactly `max_tokens` cents of the $1 daily budget.
const CONFIG = (upstreamUrl: string): string => `
upstreams:
  openai: { format: openai, base_url: ${upstreamUrl} }
  anthropic: { format: anthropic, base_url: ${upstreamUrl} }
identity: { require_credential: false }
${ADMIN_YAML}
pricing:
  models:
    flat-model: { input_per_mtok: 0, output_per_mtok: 10000 }
    claude-flat: { input_per_mtok: 0, output_per_mtok: 10000 }
budgets:
  - name: org-daily
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    actions:
      - { at: 50, do: warn }
      - { at: 80, do: throttle, delay_ms: [200, 400] }
      - { at: 100, do: reject }
rate_limits:
  - { name: org-rpm, scope: { org: "*" }, requests_per_minute: 100 }
`;

const PROMPT_TOKENS = 5;

let upstream: MockUpstream;
let proxy: TestGateway;
let sidecar: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('flat-model', PROMPT_TOKENS));
  upstream.reply('/v1/messages', {
    kind: 'json',
    body: anthropicMessage('claude-flat', 'OK', anthropicUsage(PROMPT_TOKENS, 3)),
  });
  // 18:00 UTC: 21,600 s to the end of the daily period, on both gateways.
  const clock = fakeClock(Date.parse('2026-03-10T18:00:00Z'));
  proxy = await startGateway(CONFIG(upstream.url), { env: ADMIN_ENV, clock });
  sidecar = await startGateway(CONFIG(upstream.url), { env: ADMIN_ENV, clock });
});

afterAll(async () => {
  await proxy.close();
  await sidecar.close();
  await upstream.close();
});

const chat = (maxTokens: number) => ({
  model: 'flat-model',
  messages: [{ role: 'user', content: 'Hi' }],
  max_tokens: maxTokens,
});

/** One request both ways; the sidecar's usage is reported as the mock answered the proxy. */
async function both(
  org: string,
  maxTokens: number,
): Promise<{ proxied: Answer; decided: Answer; decidedMs: number }> {
  const identity = { 'x-org-id': org };
  const proxied = await post(`${proxy.url}/openai/v1/chat/completions`, chat(maxTokens), identity);
  const { value: decided, ms: decidedMs } = await timed(
    decide(sidecar.url, '/openai/v1/chat/completions', {
      headers: identity,
      body: chat(maxTokens),
    }),
  );
  if (decided.status === 200) {
    const reported = await reportUsage(sidecar.url, {
      request_id: decided.headers.get('x-spendgate-request-id'),
      model: 'flat-model',
      usage: chatUsage(PROMPT_TOKENS, maxTokens),
    });
    expect(reported.status).toBe(200);
  }
  return { proxied, decided, decidedMs };
}

describe('decision service: the proxy headers for the same request', () => {
  it('allows 40% with the same RateLimit fields and no warning', async () => {
    const { proxied, decided } = await both('parity', 40);

    expect(policyView(decided)).toEqual(policyView(proxied));
    expect(decided.status).toBe(200);
    expect(decided.headers.get('ratelimit')).toBe('"org-daily";r=600000;t=21600');
    expect(decided.headers.get('x-spendgate-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('warns at 60% with the same budget warning', async () => {
    const { proxied, decided } = await both('parity', 20);

    expect(policyView(decided)).toEqual(policyView(proxied));
    expect(decided.headers.get('x-spendgate-budget-warning')).toBe('org-daily; used=60%');
  });

  it('delays a decision in the throttle band as the proxy delays the request', async () => {
    // 85%: a quarter into the 80-100% band, so 250 ms of the 200-400 ms delay.
    const { proxied, decided, decidedMs } = await both('parity', 25);

    expect(policyView(decided)).toEqual(policyView(proxied));
    expect(decided.headers.get('x-spendgate-budget-warning')).toBe('org-daily; used=85%');
    expect(decidedMs).toBeGreaterThanOrEqual(250);
    expect(decidedMs).toBeLessThan(1_000);
  });

  it('refuses past 100% with the same status, reason, retry-after and body', async () => {
    const { proxied, decided } = await both('parity', 30);

    expect(policyView(decided)).toEqual(policyView(proxied));
    expect(decided.status).toBe(429);
    expect(decided.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(decided.headers.get('retry-after')).toBe('21600');
    expect(decided.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(decided.text)).toEqual({
      error: {
        // $0.85 of $1 spent; 30 output tokens at $0.01 each reserve $0.30 (prompts are free).
        message:
          'budget "org-daily" for org "parity": this request\'s worst case (0.3 USD: 8 prompt ' +
          'tokens + up to 30 output tokens) is more than the 0.15 USD left; set max_tokens ' +
          'lower, or retry when the period resets',
        type: 'budget_exceeded',
        code: 'budget_exceeded',
      },
    });
  });

  it('refuses on an Anthropic route with the same Anthropic-format body', async () => {
    const message = {
      model: 'claude-flat',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Hi' }],
    };
    const identity = { 'x-org-id': 'parity-anthropic' };

    const proxied = await post(`${proxy.url}/anthropic/v1/messages`, message, identity);
    const decided = await decide(sidecar.url, '/anthropic/v1/messages', {
      headers: identity,
      body: message,
    });

    expect(policyView(decided)).toEqual(policyView(proxied));
    expect(JSON.parse(decided.text)).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
  });

  it('leaves both ledgers with the same costs and both budgets with the same spend', async () => {
    const proxyBudget = (await budgetsOf(proxy.url)).data.find((b) => b.scope.org === 'parity');
    const sidecarBudget = (await budgetsOf(sidecar.url)).data.find((b) => b.scope.org === 'parity');
    const rows = await sidecar.rows();

    expect(sidecarBudget).toEqual(proxyBudget);
    expect(sidecarBudget).toMatchObject({ spent_usd: 0.85, reserved_usd: 0 });
    // All four share one admission time on the fake clock, so their order is not asserted.
    const parity = rows.filter((r) => r.org === 'parity').map((r) => `${r.decision} ${costUsd(r)}`);
    expect(parity.sort()).toEqual(['allow 0.4', 'reject 0', 'throttle 0.25', 'warn 0.2']);
  });

  it('prices a reported usage into the same row fields as the proxy', async () => {
    const identity = { 'x-org-id': 'parity-row' };
    const proxied = await post(`${proxy.url}/openai/v1/chat/completions`, chat(7), identity);
    const decided = await decide(sidecar.url, '/openai/v1/chat/completions', {
      headers: identity,
      body: chat(7),
    });
    const reported = await reportUsage(sidecar.url, {
      request_id: decided.headers.get('x-spendgate-request-id'),
      model: 'flat-model',
      usage: chatUsage(PROMPT_TOKENS, 7),
    });

    const fromProxy = await rowOf(proxy, proxied.headers.get('x-spendgate-request-id'));
    const fromSidecar = await rowOf(sidecar, decided.headers.get('x-spendgate-request-id'));
    const fields = (r: typeof fromProxy) => ({
      org: r.org,
      endpoint: r.endpoint,
      provider: r.provider,
      upstream: r.upstream,
      model: r.model,
      resolvedModel: r.resolvedModel,
      status: r.status,
      decision: r.decision,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      costPico: r.costPico,
      usageSource: r.usageSource,
      priceSource: r.priceSource,
      countedInputTokens: r.countedInputTokens,
    });
    expect(fields(fromSidecar)).toEqual(fields(fromProxy));
    expect(costUsd(fromSidecar)).toBe('0.07');
    expect(fromSidecar.flags).toEqual(['sidecar']);
    expect(reported.headers.get('x-spendgate-cost-usd')).toBe('0.07');
    expect(reported.json.data).toMatchObject({ cost_usd: 0.07, usage_source: 'provider' });
  });
});
