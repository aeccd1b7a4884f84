import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { picoToDecimal, usdToPico, type Pico } from '../../src/money/money.js';
import { countPromptTokens } from '../../src/tokens/count.js';
import { ADMIN_ENV, chatEchoingMaxTokens, timed } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { allRowsOf, percentile } from '../support/stories.js';

// SPEC "The noisy tenant": free-1 ($1 a day) runs a batch of parallel requests while four paid
// tenants send a steady stream. free-1 is stopped at its limit; the others are all served. Their
// p99 latency is measured with and without the batch and reported, never asserted (timing
// asserts are not allowed in this suite).
const PAID = ['acme', 'globex', 'initech', 'umbrella'];
const PER_TENANT = 60;
const BATCH_WORKERS = 24;
const MESSAGES = [{ role: 'user', content: 'Classify this support ticket: my invoice is wrong.' }];
const PROMPT = countPromptTokens('chat', { model: 'gpt-4o', messages: MESSAGES }, 'gpt-4o').tokens;

let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  // The mock reports the gateway's own prompt count and max_tokens as the completion, so each
  // reservation equals the call's final cost.
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('gpt-4o', PROMPT, 1));
  const paidBudgets = PAID.map(
    (org) => `  - { name: ${org}-daily, scope: { org: ${org} }, limit_usd: 500, period: 1d }`,
  ).join('\n');
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.5, output_per_mtok: 10 }
budgets:
  - { name: free-daily, scope: { org: free-1 }, limit_usd: 1, period: 1d }
${paidBudgets}
`,
    { env: ADMIN_ENV, clock: fakeClock(Date.parse('2026-03-10T12:00:00Z')) },
  );
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function call(org: string, maxTokens: number): Promise<Answer> {
  return post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'gpt-4o', messages: MESSAGES, max_tokens: maxTokens },
    { 'x-org-id': org },
  );
}

/** The paid tenants' steady streams, one sequential client each: statuses and latencies. */
async function steadyStreams(): Promise<{ statuses: number[]; ms: number[] }> {
  const statuses: number[] = [];
  const ms: number[] = [];
  await Promise.all(
    PAID.map(async (org) => {
      for (let i = 0; i < PER_TENANT; i++) {
        const { value, ms: took } = await timed(call(org, 50));
        statuses.push(value.status);
        ms.push(took);
      }
    }),
  );
  return { statuses, ms };
}

/** free-1's batch: parallel workers sending $0.01 calls until told to stop. */
function batch(stop: { done: boolean }): Promise<Answer[]> {
  const answers: Answer[] = [];
  const worker = async (): Promise<void> => {
    while (!stop.done) answers.push(await call('free-1', 1000));
  };
  return Promise.all(Array.from({ length: BATCH_WORKERS }, worker)).then(() => answers);
}

function sumPico(costs: (Pico | null)[]): Pico {
  return costs.reduce<Pico>((sum, c) => sum + (c ?? 0n), 0n);
}

describe('story: the noisy tenant', () => {
  let quiet: { statuses: number[]; ms: number[] };
  let noisy: { statuses: number[]; ms: number[] };
  let batchAnswers: Answer[];

  beforeAll(async () => {
    // Warm the connections and the tokenizer path so the first measured call is not an outlier.
    await Promise.all(PAID.map((org) => call(org, 1)));
    quiet = await steadyStreams();
    const stop = { done: false };
    const running = batch(stop);
    noisy = await steadyStreams();
    stop.done = true;
    batchAnswers = await running;
  }, 30_000);

  it('serves every request of the other tenants, with and without the batch', async ({
    annotate,
  }) => {
    expect(quiet.statuses.filter((s) => s !== 200)).toEqual([]);
    expect(noisy.statuses.filter((s) => s !== 200)).toEqual([]);
    expect(noisy.statuses.length).toBe(PAID.length * PER_TENANT);
    await annotate(
      `other tenants' p99: ${percentile(quiet.ms, 99).toFixed(2)} ms alone, ` +
        `${percentile(noisy.ms, 99).toFixed(2)} ms beside free-1's batch of ` +
        `${batchAnswers.length} calls (p50 ${percentile(quiet.ms, 50).toFixed(2)} / ` +
        `${percentile(noisy.ms, 50).toFixed(2)} ms)`,
    );
  });

  it('stops free-1 at its limit: its ledger total is at most 1 usd', async ({ annotate }) => {
    const rows = await allRowsOf(gateway, { org: 'free-1' });
    const total = sumPico(rows.map((r) => r.costPico));

    expect(rows.length).toBe(batchAnswers.length);
    expect(total <= usdToPico('1')).toBe(true);
    await annotate(`free-1 ledger total ${picoToDecimal(total)} usd over ${rows.length} rows`);
  });

  it('answers free-1 only 200 or 429 budget_exceeded during its batch', () => {
    const served = batchAnswers.filter((a) => a.status === 200);
    const refused = batchAnswers.filter((a) => a.status === 429);

    expect(served.length + refused.length).toBe(batchAnswers.length);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    }
  });

  it('refuses free-1 after its batch: 429, retry-after to midnight, no sdk retry', async () => {
    const answer = await call('free-1', 1000);

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(answer.headers.get('retry-after')).toBe('43200');
    expect(answer.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'budget_exceeded' } });
  });

  it('charges the other tenants only for their own calls', async () => {
    const rows = await allRowsOf(gateway, { org: 'acme' });

    expect(rows.length).toBe(1 + 2 * PER_TENANT);
    expect(rows.every((r) => r.status === 200)).toBe(true);
  });
});
