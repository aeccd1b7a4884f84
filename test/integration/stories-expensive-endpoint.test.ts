import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { countPromptTokens } from '../../src/tokens/count.js';
import { picoToDecimal } from '../../src/money/money.js';
import { admin, ADMIN_ENV, chatEchoingMaxTokens, usdCost } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// SPEC "The expensive endpoint": a new RAG pipeline sends 40,000-token prompts beside three
// endpoints with small prompts and more traffic. Within a minute of the traffic starting (fake
// clock), `GET /spend?group_by=endpoint` lists the pipeline first, with its average prompt size.
const START = Date.parse('2026-03-10T09:00:00Z');
const SMALL = ['support-chat', 'ticket-triage', 'autocomplete'];
const PASSAGE =
  'The warehouse ledger records each pallet received, its supplier, the dock it arrived at and ' +
  'the inspector who signed for it. Returns are logged against the original receipt number. ';

/** A retrieval prompt of about 40,000 tokens: the passage repeated, as RAG context is. */
function ragMessages(): { role: string; content: string }[] {
  const one = countPromptTokens('chat', { model: 'gpt-4o', messages: [] }, 'gpt-4o').tokens;
  const per = countPromptTokens(
    'chat',
    { model: 'gpt-4o', messages: [{ role: 'user', content: PASSAGE.repeat(100) }] },
    'gpt-4o',
  ).tokens;
  const copies = Math.round((40_000 * 100) / (per - one));
  return [
    { role: 'system', content: `Answer from the context.\n${PASSAGE.repeat(copies)}` },
    { role: 'user', content: 'Which dock received pallet 7731?' },
  ];
}

const RAG = ragMessages();
const RAG_TOKENS = countPromptTokens('chat', { model: 'gpt-4o', messages: RAG }, 'gpt-4o').tokens;
const SMALL_MESSAGES = [{ role: 'user', content: 'Suggest a reply to: where is my parcel?' }];
const SMALL_TOKENS = countPromptTokens(
  'chat',
  { model: 'gpt-4o', messages: SMALL_MESSAGES },
  'gpt-4o',
).tokens;

let upstream: MockUpstream;
let gateway: TestGateway;
const clock = fakeClock(START);

beforeAll(async () => {
  upstream = await startMockUpstream();
  // The provider reports the prompt as the gateway counted it: tell the two sizes apart by body.
  const rag = chatEchoingMaxTokens('gpt-4o', RAG_TOKENS);
  const small = chatEchoingMaxTokens('gpt-4o', SMALL_TOKENS);
  upstream.reply('/v1/chat/completions', (req) =>
    req.body.length > 10_000 ? rag(req) : small(req),
  );
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
attribution:
  org: [header:x-org-id, unattributed]
  endpoint: [header:x-endpoint, path]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.5, output_per_mtok: 10 }
`,
    { env: ADMIN_ENV, clock },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function call(endpoint: string, messages: unknown[], maxTokens: number): Promise<number> {
  return post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'gpt-4o', messages, max_tokens: maxTokens },
    { 'x-org-id': 'acme', 'x-endpoint': endpoint },
  ).then((a) => a.status);
}

describe('story: the expensive endpoint', () => {
  const statuses: number[] = [];

  beforeAll(async () => {
    // 50 seconds of traffic, one tick a second: every small endpoint calls each tick, the new
    // pipeline every fifth tick (10 calls against 150 small ones).
    for (let tick = 0; tick < 50; tick++) {
      const calls = SMALL.map((endpoint) => call(endpoint, SMALL_MESSAGES, 200));
      if (tick % 5 === 0) calls.push(call('rag-pipeline', RAG, 300));
      statuses.push(...(await Promise.all(calls)));
      clock.advance(1_000);
    }
    clock.set(START + 59_000);
  }, 30_000);

  it('builds a prompt of about 40,000 tokens', () => {
    expect(Math.abs(RAG_TOKENS - 40_000)).toBeLessThan(200);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('lists the new endpoint first within a minute, with its average prompt size', async ({
    annotate,
  }) => {
    await gateway.deps.ledger.flush();
    const from = new Date(START).toISOString();
    const answer = await admin(gateway.url, 'GET', `/spend?group_by=endpoint&from=${from}`);
    const rows = answer.json.data as Record<string, unknown>[];
    const top = rows[0] as Record<string, unknown>;
    const average = Number(top.input_tokens) / Number(top.requests);

    expect(answer.status).toBe(200);
    expect(top.endpoint).toBe('rag-pipeline');
    expect(top.cost_usd).toBe(Number(picoToDecimal(10n * usdCost(RAG_TOKENS, 300, '2.5', '10'))));
    expect(rows).toHaveLength(4);
    expect(top.requests).toBe(10);
    expect(top.input_tokens).toBe(10 * RAG_TOKENS);
    expect(Math.abs(average - 40_000)).toBeLessThan(200);
    expect(rows.slice(1).every((r) => Number(r.requests) === 50)).toBe(true);
    await annotate(
      `spend by endpoint at +59s: ${rows
        .map((r) => `${String(r.endpoint)} $${String(r.cost_usd)} (${String(r.requests)} req)`)
        .join(', ')}; average prompt ${average} tokens`,
    );
  });
});
