import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { rowOf } from '../support/ledger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { anthropicMessage, anthropicUsage, chatCompletion, chatUsage } from '../support/wire.js';

// A budget rejection in the format of the API called, as plain HTTP and through the official
// SDKs, which must not retry it; and unpriced models against enforcing budgets. The `capped`
// org's budget is smaller than any reservation below, so its requests are always refused.
const NOW = Date.parse('2026-03-10T12:00:00Z');
const CAPPED = { 'x-org-id': 'capped' };

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: chatCompletion('mystery-model', 'OK', chatUsage(10, 5)),
  });
  upstream.reply('/v1/messages', {
    kind: 'json',
    body: anthropicMessage('claude-sonnet-4-5', 'OK', anthropicUsage(10, 5)),
  });
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
  anthropic: { format: anthropic, base_url: ${upstream.url} }
identity: { require_credential: false }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
    claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
budgets:
  - { name: capped-monthly, scope: { org: capped }, limit_usd: 0.001, period: month }
`,
    { clock: fakeClock(NOW) },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

const CHAT = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1000 };
const MESSAGE = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1000,
  messages: [{ role: 'user' as const, content: 'Hi' }],
};

/** How many rejected rows the ledger holds. */
async function rejections(): Promise<number> {
  return (await gateway.rows()).filter((r) => r.decision === 'reject').length;
}

describe('budget rejection: the error format of the api that was called', () => {
  it('answers an openai route in the openai error shape, code budget_exceeded', async () => {
    const callsBefore = upstream.received.length;

    const answer = await post(`${gateway.url}/openai/v1/chat/completions`, CHAT, CAPPED);

    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.text)).toEqual({
      error: { message: expect.any(String), type: 'budget_exceeded', code: 'budget_exceeded' },
    });
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('x-should-retry')).toBe('false');
    // 21.5 days from March 10th 12:00 to April 1st 00:00 UTC.
    expect(answer.headers.get('retry-after')).toBe('1857600');
    expect(upstream.received.length).toBe(callsBefore);
  });

  it('answers an anthropic route in the anthropic shape, type rate_limit_error', async () => {
    const callsBefore = upstream.received.length;

    const answer = await post(`${gateway.url}/anthropic/v1/messages`, MESSAGE, CAPPED);

    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.text)).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.any(String) },
    });
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('x-should-retry')).toBe('false');
    expect(answer.headers.get('retry-after')).toBe('1857600');
    expect(upstream.received.length).toBe(callsBefore);
  });

  it('records the rejection as a row with cost 0 and its reason', async () => {
    const answer = await post(`${gateway.url}/openai/v1/chat/completions`, CHAT, CAPPED);

    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      org: 'capped',
      status: 429,
      decision: 'reject',
      reason: 'budget_exceeded',
      costPico: 0n,
    });
  });
});

describe('budget rejection: the official sdks do not retry it', () => {
  it('makes the openai sdk throw a 429 RateLimitError after one attempt', async () => {
    const client = new OpenAI({
      apiKey: 'sk-client',
      baseURL: `${gateway.url}/openai/v1`,
      maxRetries: 2,
      defaultHeaders: CAPPED,
    });
    const callsBefore = upstream.received.length;
    const rejectedBefore = await rejections();

    const error = await client.chat.completions
      .create({ ...CHAT, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('budget_exceeded');
    expect(upstream.received.length).toBe(callsBefore);
    expect((await rejections()) - rejectedBefore).toBe(1);
  });

  it('makes the anthropic sdk throw a 429 RateLimitError after one attempt', async () => {
    const client = new Anthropic({
      apiKey: 'sk-ant-client',
      baseURL: `${gateway.url}/anthropic`,
      maxRetries: 2,
      defaultHeaders: CAPPED,
    });
    const callsBefore = upstream.received.length;
    const rejectedBefore = await rejections();

    const error = await client.messages.create(MESSAGE).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).status).toBe(429);
    expect(upstream.received.length).toBe(callsBefore);
    expect((await rejections()) - rejectedBefore).toBe(1);
  });
});

describe('budgets: a model with no price', () => {
  const mystery = { model: 'mystery-model', messages: [{ role: 'user', content: 'Hi' }] };

  it('gets 400 unknown_model when an enforcing budget applies', async () => {
    const callsBefore = upstream.received.length;

    const answer = await post(`${gateway.url}/openai/v1/chat/completions`, mystery, CAPPED);

    expect(answer.status).toBe(400);
    expect(answer.headers.get('x-spendgate-reason')).toBe('unknown_model');
    const error = (JSON.parse(answer.text) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ type: 'unknown_model', code: 'unknown_model' });
    expect(upstream.received.length).toBe(callsBefore);
  });

  it('is served with cost null and no cost header when no budget applies', async () => {
    const answer = await post(`${gateway.url}/openai/v1/chat/completions`, mystery, {
      'x-org-id': 'unbudgeted',
    });
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));

    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-spendgate-cost-usd')).toBeNull();
    expect(row.costPico).toBeNull();
    expect(row.flags).toContain('unpriced_model');
    expect(row).toMatchObject({ inputTokens: 10, outputTokens: 5, usageSource: 'provider' });
  });
});
