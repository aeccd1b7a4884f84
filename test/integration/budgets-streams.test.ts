import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf, costAt, sseData } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { costUsd, rowOf } from '../support/ledger.js';
import {
  anthropicSse,
  openAiSse,
  startMockUpstream,
  type MockUpstream,
} from '../support/mock-upstream.js';
import { anthropicEvents, anthropicUsage, chatChunks, chatUsage } from '../support/wire.js';

// Case 13 of CASES.md through an OpenAI-compatible upstream, and streams ended at their budget.
// The cut streams ignore `max_tokens` (100 tokens for a limit of 20) so that their own running
// cost, not the reservation, is what reaches the budget; each delta " a" is one token.
const NOW = Date.parse('2026-03-10T12:00:00Z');
const DELTAS = Array.from({ length: 100 }, () => ' a');

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  gateway = await startGateway(
    `
upstreams:
  compat: { format: openai, base_url: ${upstream.url} }
  openai: { format: openai, base_url: ${upstream.url} }
  anthropic: { format: anthropic, base_url: ${upstream.url} }
identity: { require_credential: false }
${ADMIN_YAML}
pricing:
  models:
    claude-sonnet-4-5: { input_per_mtok: 3, output_per_mtok: 15 }
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: research-monthly, scope: { team: t-research }, limit_usd: 0.10, period: month }
  - { name: cut-openai, scope: { org: cut-openai }, limit_usd: 0.0005, period: 1d }
  - { name: cut-anthropic, scope: { org: cut-anthropic }, limit_usd: 0.0008, period: 1d }
  - { name: cut-anthropic-2, scope: { org: cut-anthropic-2 }, limit_usd: 0.0008, period: 1d }
  - { name: finish-openai, scope: { org: finish-openai }, limit_usd: 0.0005, period: 1d,
      streams: finish }
`,
    { env: ADMIN_ENV, clock: fakeClock(NOW) },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('case 13: streamed requests must count against the budget', () => {
  const body =
    '{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Say OK."}],' +
    '"max_tokens":4000,"stream":true}';
  const team = { 'x-team-id': 't-research' };
  const base = { id: 'c13', object: 'chat.completion.chunk', model: 'claude-sonnet-4-5' };

  it('charges the first stream $0.060036 despite the cost of 0 it reports', async () => {
    upstream.reply('/v1/chat/completions', {
      kind: 'sse',
      chunks: openAiSse([
        { ...base, choices: [{ index: 0, delta: { content: 'OK' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
        {
          ...base,
          choices: [],
          usage: { prompt_tokens: 12, completion_tokens: 4000, total_tokens: 4012, cost: 0 },
        },
      ]),
    });

    const answer = await post(`${gateway.url}/compat/v1/chat/completions`, body, team);
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/event-stream');
    expect(row).toMatchObject({ inputTokens: 12, outputTokens: 4000, usageSource: 'provider' });
    expect(costUsd(row)).toBe('0.060036');
    const { data, text } = await budgetsOf(gateway.url);
    expect(data.find((b) => b.name === 'research-monthly')?.scope).toEqual({ team: 't-research' });
    expect(text).toContain('"spent_usd":0.060036,');
  });

  it('rejects the second with a plain json 429 before any stream bytes', async () => {
    const callsBefore = upstream.received.length;

    const answer = await post(`${gateway.url}/compat/v1/chat/completions`, body, team);

    expect(answer.status).toBe(429);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('x-should-retry')).toBe('false');
    const error = (JSON.parse(answer.text) as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ type: 'budget_exceeded', code: 'budget_exceeded' });
    expect(answer.text.startsWith('data:')).toBe(false);
    expect(upstream.received.length - callsBefore).toBe(0);
  });
});

describe('budgets: a stream is ended cleanly when its budget runs out', () => {
  const chat = (org: string) =>
    post(
      `${gateway.url}/openai/v1/chat/completions`,
      {
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Count.' }],
        max_tokens: 20,
        stream: true,
        stream_options: { include_usage: true },
      },
      { 'x-org-id': org },
    );

  it('ends an openai chat stream with a length chunk carrying the usage, then [DONE]', async () => {
    upstream.reply('/v1/chat/completions', {
      kind: 'sse',
      chunks: openAiSse(chatChunks('gpt-4o', DELTAS, chatUsage(9, 100))),
      gapMs: 3,
    });

    const answer = await chat('cut-openai');
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));

    expect(answer.status).toBe(200);
    const payloads = sseData(answer.text);
    expect(payloads.at(-1)).toBe('[DONE]');
    const last = JSON.parse(payloads.at(-2) ?? '{}') as {
      choices: { finish_reason: string | null }[];
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    expect(last.choices.map((c) => c.finish_reason)).toEqual(['length']);
    const delivered = payloads.filter((p) => p.includes('"content":" a"')).length;
    expect(last.usage.completion_tokens).toBe(delivered);
    expect(delivered).toBeGreaterThan(30);
    expect(delivered).toBeLessThan(70);
    expect(row.inputTokens).toBe(last.usage.prompt_tokens);
    expect(row.outputTokens).toBe(last.usage.completion_tokens);
    expect(last.usage.total_tokens).toBe(row.inputTokens + row.outputTokens);
    expect(costUsd(row)).toBe(costAt(row.inputTokens, row.outputTokens, '2.50', '10.00'));
    expect(row.flags).toContain('budget_cut');
  });

  it('ends an anthropic stream with message_delta max_tokens and message_stop', async () => {
    const { answer, row } = await cutAnthropicStream('cut-anthropic');

    expect(answer.status).toBe(200);
    const events = sseData(answer.text).map((d) => JSON.parse(d) as Record<string, unknown>);
    expect(events.at(-1)).toEqual({ type: 'message_stop' });
    const delta = events.at(-2) as AnthropicDelta;
    expect(delta.type).toBe('message_delta');
    expect(delta.delta.stop_reason).toBe('max_tokens');
    // Claude text is counted by a calibrated estimate, so tokens and deltas differ a little.
    const delivered = events.filter((e) => e.type === 'content_block_delta').length;
    expect(delivered).toBeGreaterThan(30);
    expect(delivered).toBeLessThan(70);
    expect(delta.usage.output_tokens).toBeGreaterThanOrEqual(delivered);
    expect(delta.usage.output_tokens).toBeLessThan(100);
    expect(row.inputTokens).toBe(delta.usage.input_tokens);
    expect(row.outputTokens).toBe(delta.usage.output_tokens);
    expect(costUsd(row)).toBe(costAt(row.inputTokens, row.outputTokens, '3', '15'));
    expect(row.flags).toContain('budget_cut');
  });

  it('keeps the input tokens message_start reported when it cuts an anthropic stream', async () => {
    // SPEC: the provider's numbers are recorded when it reports them; message_start said 9.
    const { answer, row } = await cutAnthropicStream('cut-anthropic-2');

    expect(answer.status).toBe(200);
    const events = sseData(answer.text).map((d) => JSON.parse(d) as Record<string, unknown>);
    const delta = events.at(-2) as AnthropicDelta;
    expect(row.inputTokens).toBe(9);
    expect(delta.usage.input_tokens).toBe(9);
  });

  it('lets a stream finish when its budget says streams: finish', async () => {
    upstream.reply('/v1/chat/completions', {
      kind: 'sse',
      chunks: openAiSse(chatChunks('gpt-4o', DELTAS, chatUsage(9, 100))),
      gapMs: 1,
    });

    const answer = await chat('finish-openai');
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));

    const payloads = sseData(answer.text);
    expect(payloads.filter((p) => p.includes('"content":" a"'))).toHaveLength(100);
    expect(payloads.some((p) => p.includes('"finish_reason":"length"'))).toBe(false);
    expect(payloads.at(-1)).toBe('[DONE]');
    expect(row).toMatchObject({ inputTokens: 9, outputTokens: 100, usageSource: 'provider' });
    expect(costUsd(row)).toBe('0.0010225');
    expect(row.flags).not.toContain('budget_cut');
  });
});

type AnthropicDelta = {
  type: string;
  delta: { stop_reason: string };
  usage: { input_tokens: number; output_tokens: number };
};

/** A claude stream of 100 short deltas (input 9 in message_start) that `org`'s budget cuts. */
async function cutAnthropicStream(org: string) {
  upstream.reply('/v1/messages', {
    kind: 'sse',
    chunks: anthropicSse(
      anthropicEvents('claude-sonnet-4-5', DELTAS, anthropicUsage(9, 100)) as { type: string }[],
    ),
    gapMs: 3,
  });
  const answer = await post(
    `${gateway.url}/anthropic/v1/messages`,
    {
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'Count.' }],
      stream: true,
    },
    { 'x-org-id': org },
  );
  const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
  return { answer, row };
}
