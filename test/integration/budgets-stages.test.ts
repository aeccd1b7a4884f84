import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import {
  ADMIN_ENV,
  ADMIN_YAML,
  budgetsOf,
  chatEchoingMaxTokens,
  timed,
} from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// Warn, throttle and reject stages through the gateway, and the `GET /budgets` view. Output
// costs $0.01 a token and input nothing, so a request's reservation and cost are exactly
// `max_tokens` cents: max_tokens 40 is 40% of a $1 budget.
const PRICING = `
pricing:
  models:
    flat-model: { input_per_mtok: 0, output_per_mtok: 10000 }
`;

let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('flat-model', 5));
});

afterAll(async () => {
  await upstream.close();
});

function configFor(budgets: string): string {
  return `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
${ADMIN_YAML}${PRICING}
budgets:
${budgets}`;
}

function spend(gateway: TestGateway, org: string, cents: number): Promise<Answer> {
  return post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'flat-model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: cents },
    { 'x-org-id': org },
  );
}

describe('budget stages: warn, throttle, reject through the gateway', () => {
  // 18:00 UTC: six hours, 21,600 s, to the end of the daily period.
  const clock = fakeClock(Date.parse('2026-03-10T18:00:00Z'));
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(
      configFor(`
  - name: org-daily
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    actions:
      - { at: 50, do: warn }
      - { at: 80, do: throttle, delay_ms: [200, 400] }
      - { at: 100, do: reject }
`),
      { env: ADMIN_ENV, clock },
    );
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('serves 40% with the rate-limit headers of the budget and no warning', async () => {
    const answer = await spend(gateway, 'stages', 40);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-spendgate-cost-usd')).toBe('0.4');
    expect(answer.headers.get('ratelimit-policy')).toBe('"org-daily";q=1000000;w=86400');
    expect(answer.headers.get('ratelimit')).toBe('"org-daily";r=600000;t=21600');
    expect(answer.headers.get('x-spendgate-budget-warning')).toBeNull();
  });

  it('warns at 50% with the budget name and the share used', async () => {
    const answer = await spend(gateway, 'stages', 10);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-spendgate-budget-warning')).toBe('org-daily; used=50%');
    expect(answer.headers.get('ratelimit')).toBe('"org-daily";r=500000;t=21600');
  });

  it('delays a request reaching 85% by 250 ms, a quarter into the 200-400 ms band', async () => {
    const baseline = await timed(spend(gateway, 'baseline', 1));

    const { value: answer, ms } = await timed(spend(gateway, 'stages', 35));

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-spendgate-budget-warning')).toBe('org-daily; used=85%');
    expect(answer.headers.get('ratelimit')).toBe('"org-daily";r=150000;t=21600');
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms - baseline.ms).toBeLessThan(400);
  });

  it('lets a request fill the budget to exactly 100%, delayed by the top of the band', async () => {
    clock.advance(600_500);

    const { value: answer, ms } = await timed(spend(gateway, 'stages', 15));

    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit')).toBe('"org-daily";r=0;t=21000');
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(700);
  });

  it('rejects past 100% with retry-after equal to the seconds to the period end', async () => {
    const answer = await spend(gateway, 'stages', 1);

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('retry-after')).toBe('21000');
    expect(answer.headers.get('ratelimit-policy')).toBe('"org-daily";q=1000000;w=86400');
    expect(answer.headers.get('ratelimit')).toBe('"org-daily";r=0;t=21000');
  });
});

describe('admin api: GET /budgets', () => {
  // 06:00 UTC is the end of the first quarter of the daily period.
  const clock = fakeClock(Date.parse('2026-03-10T06:00:00Z'));
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(
      configFor(`
  - name: org-view
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    actions: [{ at: 50, do: warn }, { at: 100, do: reject }]
`),
      { env: ADMIN_ENV, clock },
    );
    expect((await spend(gateway, 'acme', 50)).status).toBe(200);
    expect((await spend(gateway, 'globex', 20)).status).toBe(200);
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('reports spend, limit, utilization, stage, reset and exhaustion of an instance', async () => {
    const { data, text } = await budgetsOf(gateway.url);

    const acme = data.find((b) => b.scope.org === 'acme');
    expect(acme).toMatchObject({
      name: 'org-view',
      scope: { org: 'acme' },
      spent_usd: 0.5,
      limit_usd: 1,
      utilization: 0.5,
      stage: 'warn',
      resets_at: '2026-03-11T00:00:00.000Z',
      // Half spent in a quarter of the period: the rest goes by the half-way point.
      projected_exhaustion: '2026-03-10T12:00:00.000Z',
    });
    expect(text).toContain('"spent_usd":0.5,');
  });

  it('projects no exhaustion within the period for a slower spender', async () => {
    const { data } = await budgetsOf(gateway.url);

    const globex = data.find((b) => b.scope.org === 'globex');
    expect(globex).toMatchObject({
      spent_usd: 0.2,
      utilization: 0.2,
      resets_at: '2026-03-11T00:00:00.000Z',
      projected_exhaustion: null,
    });
  });

  it('shows a scoped admin token only the instances of its org', async () => {
    const all = await budgetsOf(gateway.url);
    const scoped = await budgetsOf(gateway.url, ADMIN_ENV.ACME_TOKEN);

    expect(all.data.map((b) => b.scope.org).sort()).toEqual(['acme', 'globex']);
    expect(scoped.data.map((b) => b.scope)).toEqual([{ org: 'acme' }]);
  });
});
