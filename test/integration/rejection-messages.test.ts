import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// What a refused request is told. At $1,000 per million tokens every token costs $0.001, so a
// request's worst case is (prompt tokens + output tokens) / 1000 USD. "Hi" as one user message
// is 8 prompt tokens in gpt-4o's encoding.
const NOW = Date.parse('2026-03-10T12:00:00Z');
const PROMPT_TOKENS = 8;
const ADMIN = { ADMIN_TOKEN: 'admin-secret-rejections' };

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  // Every served request costs 4,000 prompt tokens: $4.
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('gpt-4o', 'OK', chatUsage(4000, 0)),
  });
  gateway = await startGateway(
    `
admin: { tokens: [{ name: ops, token_env: ADMIN_TOKEN }] }
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
pricing:
  models:
    gpt-4o: { input_per_mtok: 1000, output_per_mtok: 1000 }
budgets:
  - { name: tiny-daily, scope: { org: globex }, limit_usd: 0.002, period: 1d }
  - { name: acme-daily, scope: { org: acme }, limit_usd: 5, period: 1d }
  - { name: search-daily, scope: { team: search }, limit_usd: 4, period: 1d }
rate_limits:
  - { name: org-tpm, scope: { org: hooli }, tokens_per_minute: 1000 }
`,
    { clock: fakeClock(NOW), env: ADMIN },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

/** A chat request as `who`; `maxTokens` undefined sends none (4,096 output tokens are reserved). */
function chat(who: Record<string, string>, maxTokens?: number) {
  const body = {
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'Hi' }],
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
  };
  return post(`${gateway.url}/openai/v1/chat/completions`, body, who);
}

const messageOf = (text: string): string =>
  (JSON.parse(text) as { error: { message: string } }).error.message;

describe('budget rejection messages', () => {
  it('says when the worst case alone is more than the whole limit, so retrying never helps', async () => {
    const answer = await chat({ 'x-org-id': 'globex', 'x-team-id': 'ops', 'x-user-id': 'ann' });

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('retry-after')).toBe('43200');
    // (8 + 4,096) tokens × $0.001 = $4.104; only the org is named, the budget's one dimension.
    expect(messageOf(answer.text)).toBe(
      `budget "tiny-daily" for org "globex": this request's worst case (4.104 USD: ` +
        `${PROMPT_TOKENS} prompt tokens + up to 4096 output tokens) is more than the whole ` +
        'limit of 0.002 USD, so it can never pass; set max_tokens lower',
    );
  });

  it('says what is left when the worst case is more than that but fits the limit', async () => {
    const first = await chat({ 'x-org-id': 'acme' }, 1);

    const second = await chat({ 'x-org-id': 'acme' }, 2000);

    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    // $4 of $5 spent; (8 + 2,000) × $0.001 = $2.008 asked.
    expect(messageOf(second.text)).toBe(
      `budget "acme-daily" for org "acme": this request's worst case (2.008 USD: ` +
        `${PROMPT_TOKENS} prompt tokens + up to 2000 output tokens) is more than the 1 USD ` +
        'left; set max_tokens lower, or retry when the period resets',
    );
  });

  it('says a spent budget is spent, naming only its own dimension', async () => {
    const who = { 'x-org-id': 'initrode', 'x-team-id': 'search', 'x-user-id': 'bob' };
    const first = await chat(who, 1);

    const second = await chat(who, 1);

    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(messageOf(second.text)).toBe(
      'budget "search-daily" for team "search" exceeded: nothing left until the period resets',
    );
  });
});

describe('rate limit and kill switch rejection messages', () => {
  it('says when the worst case alone is more than a whole token bucket', async () => {
    const answer = await chat({ 'x-org-id': 'hooli' });

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('tpm_exceeded');
    expect(messageOf(answer.text)).toBe(
      `tokens-per-minute limit "org-tpm" for org "hooli": this request's worst case (4104 ` +
        `tokens: ${PROMPT_TOKENS} prompt tokens + up to 4096 output tokens) is more than the ` +
        'whole limit of 1000 tokens; set max_tokens lower',
    );
  });

  it('names the kill switch that matched, its reason and its expiry', async () => {
    const created = await post(
      `${gateway.url}/api/v1/kill-switches`,
      {
        dimension: 'team',
        value: 'growth',
        reason: 'runaway agent',
        expires_at: '2026-03-11T00:00:00Z',
      },
      { authorization: `Bearer ${ADMIN.ADMIN_TOKEN}` },
    );

    const answer = await chat({ 'x-org-id': 'umbrella', 'x-team-id': 'growth' }, 1);

    expect(created.status).toBe(201);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('kill_switch');
    expect(answer.headers.get('retry-after')).toBe('43200');
    expect(messageOf(answer.text)).toBe(
      'blocked by a kill switch on team "growth" (reason: runaway agent; until ' +
        '2026-03-11T00:00:00.000Z)',
    );
  });
});
