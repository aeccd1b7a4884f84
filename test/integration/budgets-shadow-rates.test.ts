import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { countPromptTokens } from '../../src/tokens/index.js';
import {
  ADMIN_ENV,
  ADMIN_YAML,
  budgetsOf,
  chatEchoingMaxTokens,
  eventsOf,
  sumCostUsd,
} from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// Shadow-mode budgets evaluate without blocking; request and token rate limits block, and
// a minute later (on the fake clock) let traffic through again. The upstream answers with
// the whole `max_tokens` used and the prompt as the gateway counts it, so token buckets are
// charged exactly what was reserved.
const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
const BODY = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 600 };
const PROMPT = countPromptTokens('chat', BODY, 'gpt-4o').tokens;

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('gpt-4o', PROMPT));
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
${ADMIN_YAML}
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: shadow-cap, scope: { org: shadowed }, limit_usd: 0.000001, period: 1d, mode: shadow }
rate_limits:
  - { name: org-rpm, scope: { org: rpm-org }, requests_per_minute: 2 }
  - { name: org-tpm, scope: { org: tpm-org }, tokens_per_minute: 1000 }
`,
    { env: ADMIN_ENV, clock },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function send(org: string, body: object = BODY): Promise<Answer> {
  return post(`${gateway.url}/openai/v1/chat/completions`, body, { 'x-org-id': org });
}

describe('budgets: shadow mode never blocks', () => {
  it('serves every request of a far-exceeded shadow budget and flags the rows', async () => {
    const answers = [await send('shadowed'), await send('shadowed'), await send('shadowed')];

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    for (const answer of answers) {
      expect(answer.headers.get('x-spendgate-reason')).toBeNull();
      const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
      expect(row.flags).toContain('shadow_rejected');
      expect(row.decision).toBe('allow');
    }
  });

  it('lists the would-be rejection in GET /events?type=shadow_rejection', async () => {
    const events = await eventsOf(gateway, 'type=shadow_rejection');

    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatchObject({
      type: 'shadow_rejection',
      scope: { org: 'shadowed' },
      data: { budget: 'shadow-cap' },
    });
  });

  it('still counts the spend: /budgets shows the shadow instance with the rows total', async () => {
    const rows = (await gateway.rows()).filter((r) => r.org === 'shadowed');
    const { data, text } = await budgetsOf(gateway.url);

    expect(data.find((b) => b.name === 'shadow-cap')).toMatchObject({
      scope: { org: 'shadowed' },
      limit_usd: 0.000001,
    });
    expect(text).toContain(`"spent_usd":${sumCostUsd(rows)},`);
  });

  it('serves an unpriced model under a shadow budget, which does not enforce', async () => {
    const answer = await send('shadowed', { ...BODY, model: 'unpriced-shadow-model' });

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-spendgate-cost-usd')).toBeNull();
  });
});

describe('rate limits: requests per minute', () => {
  it('serves two requests a minute with RateLimit headers, and refuses the third', async () => {
    const first = await send('rpm-org');
    const second = await send('rpm-org');
    const third = await send('rpm-org');

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.headers.get('ratelimit-policy')).toBe('"org-rpm";q=2;w=60');
    expect(first.headers.get('ratelimit')).toBe('"org-rpm";r=1;t=30');
    expect(second.headers.get('ratelimit')).toBe('"org-rpm";r=0;t=60');
    expect(third.status).toBe(429);
    expect(third.headers.get('x-spendgate-reason')).toBe('rpm_exceeded');
    expect(third.headers.get('x-should-retry')).toBe('false');
    // One request's worth of a 2-per-minute bucket refills in 30 s.
    expect(third.headers.get('retry-after')).toBe('30');
    const error = (JSON.parse(third.text) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ type: 'rpm_exceeded', code: 'rpm_exceeded' });
  });

  it('allows requests again a minute later', async () => {
    clock.advance(60_000);

    const answer = await send('rpm-org');

    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit')).toBe('"org-rpm";r=1;t=30');
  });
});

describe('rate limits: tokens per minute', () => {
  it('refuses a request whose prompt and max_tokens no longer fit with tpm_exceeded', async () => {
    const first = await send('tpm-org');
    const second = await send('tpm-org');

    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"org-tpm";q=1000;w=60');
    // What the first took refills at 1000 tokens a minute: that is the time to a full bucket.
    const refill = Math.ceil(((PROMPT + 600) * 60) / 1000);
    expect(first.headers.get('ratelimit')).toBe(`"org-tpm";r=${1000 - PROMPT - 600};t=${refill}`);
    expect(second.status).toBe(429);
    expect(second.headers.get('x-spendgate-reason')).toBe('tpm_exceeded');
    // Missing: (prompt + 600) - (1000 - prompt - 600) tokens, refilled at 1000 a minute.
    const missing = 2 * (PROMPT + 600) - 1000;
    expect(second.headers.get('retry-after')).toBe(String(Math.ceil((missing * 60) / 1000)));
  });

  it('allows the request again a minute later', async () => {
    clock.advance(60_000);

    const answer = await send('tpm-org');

    expect(answer.status).toBe(200);
  });
});
