import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { picoToDecimal, usdToPico } from '../../src/money/money.js';
import { countPromptTokens } from '../../src/tokens/index.js';
import {
  ADMIN_ENV,
  ADMIN_YAML,
  budgetsOf,
  costAt,
  ledgerFile,
  sumCostUsd,
  timed,
  usdCost,
} from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// Case 12 of CASES.md end to end, a wider burst, and reservations given back by failed calls.
// The gateway's clock is fake so the period and Retry-After are exact; the upstream's waits
// are real, so "rejected at once" is measured against them.
const NOW = Date.parse('2026-03-10T12:00:00Z');
const SECONDS_TO_APRIL = 1_857_600;
const CASE_12_BODY =
  '{"model":"gpt-4o","messages":[{"role":"user","content":"Say OK."}],"max_tokens":8000}';
const ACME = { 'x-org-id': 'acme' };

function configFor(upstreamUrl: string, extra: string): string {
  return `
upstreams:
  openai: { format: openai, base_url: ${upstreamUrl} }
identity: { require_credential: false }
${ADMIN_YAML}
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
${extra}`;
}

/** A chat completion that ran into its output limit, as the case's upstream answers. */
function lengthStopped(prompt: number, completion: number): Record<string, unknown> {
  const body = chatCompletion('gpt-4o', 'OK', chatUsage(prompt, completion));
  const [choice] = body.choices as Record<string, unknown>[];
  return { ...body, choices: [{ ...choice, finish_reason: 'length' }] };
}

let upstream: MockUpstream;

beforeAll(async () => {
  upstream = await startMockUpstream();
});

afterAll(async () => {
  await upstream.close();
});

describe('case 12: concurrent requests must not overshoot a hard budget', () => {
  const file = ledgerFile();
  const yaml = () =>
    configFor(
      upstream.url,
      `storage: { ledger: "sqlite:${file}" }
budgets:
  - { name: acme-monthly, scope: { org: acme }, limit_usd: 1.00, period: month }
`,
    );
  let gateway: TestGateway;

  beforeAll(async () => {
    // $0.90 of spend this month, recorded by an earlier gateway on the same ledger file.
    const earlier = await startGateway(yaml(), { env: ADMIN_ENV, clock: fakeClock(NOW) });
    upstream.reply('/v1/chat/completions', { kind: 'json', body: lengthStopped(40_000, 80_000) });
    const seeded = await post(
      `${earlier.url}/openai/v1/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say OK.' }], max_tokens: 80_000 },
      ACME,
    );
    expect(seeded.status).toBe(200);
    expect(seeded.headers.get('x-spendgate-cost-usd')).toBe('0.9');
    await earlier.close();

    gateway = await startGateway(yaml(), { env: ADMIN_ENV, clock: fakeClock(NOW) });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('rebuilds the $0.90 already spent from the ledger after a restart', async () => {
    const { data, text } = await budgetsOf(gateway.url);

    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ name: 'acme-monthly', scope: { org: 'acme' } });
    expect(text).toContain('"spent_usd":0.9,');
    expect(text).toContain('"reserved_usd":0,');
  });

  it('admits exactly 1 of 5 parallel requests and rejects 4 at once, then a sixth', async () => {
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      delayMs: 2_000,
      body: lengthStopped(20, 8_000),
    });
    const callsBefore = upstream.received.length;
    const url = `${gateway.url}/openai/v1/chat/completions`;

    const burst = Array.from({ length: 5 }, () => timed(post(url, CASE_12_BODY, ACME)));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const during = await budgetsOf(gateway.url);
    const answers = await Promise.all(burst);
    const sixth = await post(url, CASE_12_BODY, ACME);

    const ok = answers.filter((a) => a.value.status === 200);
    const refused = answers.filter((a) => a.value.status === 429);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(4);
    for (const { value, ms } of refused) {
      expect(ms).toBeLessThan(1_000);
      expect(value.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
      expect(value.headers.get('x-should-retry')).toBe('false');
      expect(value.headers.get('retry-after')).toBe(String(SECONDS_TO_APRIL));
      const body = JSON.parse(value.text) as { error: Record<string, unknown> };
      expect(body.error.type).toBe('budget_exceeded');
      expect(body.error.code).toBe('budget_exceeded');
    }
    expect(ok[0]?.value.headers.get('x-spendgate-cost-usd')).toBe('0.08005');
    expect(upstream.received.length - callsBefore).toBe(1);
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(upstream.received.length - callsBefore).toBe(1);

    // While the one admitted call was in flight, spent + reserved stayed under the limit.
    const [instance] = during.data;
    const inFlight =
      usdToPico(String(instance?.spent_usd)) + usdToPico(String(instance?.reserved_usd));
    const counted = countPromptTokens('chat', JSON.parse(CASE_12_BODY), 'gpt-4o').tokens;
    expect(instance?.spent_usd).toBe(0.9);
    expect(String(instance?.reserved_usd)).toBe(costAt(counted, 8_000, '2.50', '10.00'));
    expect(inFlight <= usdToPico('1')).toBe(true);
  });

  it('ends at exactly $0.98005 of spend, the sum of the rows and what /budgets shows', async () => {
    const rows = await gateway.rows();
    const { text } = await budgetsOf(gateway.url);

    expect(sumCostUsd(rows)).toBe('0.98005');
    expect(rows.filter((r) => r.decision === 'reject')).toHaveLength(5);
    expect(text).toContain('"spent_usd":0.98005,');
    expect(text).toContain('"reserved_usd":0,');
  });
});

describe('budgets: a burst of 100 parallel requests', () => {
  let gateway: TestGateway;
  const body = {
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'Burst.' }],
    max_tokens: 1000,
  };
  const prompt = countPromptTokens('chat', body, 'gpt-4o').tokens;

  beforeAll(async () => {
    gateway = await startGateway(
      configFor(
        upstream.url,
        `budgets:
  - { name: burst-daily, scope: { org: "*" }, limit_usd: 0.10, period: 1d }
`,
      ),
      { env: ADMIN_ENV, clock: fakeClock(NOW) },
    );
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('admits only what the limit covers and records no more than the limit', async () => {
    // The upstream uses exactly what was reserved, so the count admitted cannot depend on timing.
    upstream.reply('/v1/chat/completions', {
      kind: 'json',
      delayMs: 300,
      body: chatCompletion('gpt-4o', 'OK', chatUsage(prompt, 1000)),
    });
    const reservation = usdCost(prompt, 1000, '2.50', '10.00');
    const limit = usdToPico('0.10');
    const expected = Number(limit / reservation);
    const callsBefore = upstream.received.length;
    const url = `${gateway.url}/openai/v1/chat/completions`;

    const answers = await Promise.all(
      Array.from({ length: 100 }, () => post(url, body, { 'x-org-id': 'burst' })),
    );

    const admitted = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(admitted).toBe(expected);
    expect(BigInt(admitted) * reservation <= limit).toBe(true);
    expect(refused).toHaveLength(100 - expected);
    expect(refused.every((a) => a.headers.get('x-spendgate-reason') === 'budget_exceeded')).toBe(
      true,
    );
    expect(upstream.received.length - callsBefore).toBe(expected);

    const rows = await gateway.rows();
    const spent = picoToDecimal(BigInt(expected) * reservation);
    expect(sumCostUsd(rows)).toBe(spent);
    expect(usdToPico(sumCostUsd(rows)) <= limit).toBe(true);
    const { data, text } = await budgetsOf(gateway.url);
    expect(data.map((b) => b.scope)).toEqual([{ org: 'burst' }]);
    expect(text).toContain(`"spent_usd":${spent},`);
    expect(text).toContain('"reserved_usd":0,');
    expect(costAt(prompt, 1000, '2.50', '10.00')).toBe(picoToDecimal(reservation));
  });
});

describe('budgets: a failed upstream call gives its whole reservation back', () => {
  let broken: MockUpstream;
  let gateway: TestGateway;
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Fail.' }], max_tokens: 500 };

  beforeAll(async () => {
    broken = await startMockUpstream();
    broken.reply('/v1/chat/completions', {
      kind: 'json',
      status: 500,
      body: { error: { message: 'The server had an error', type: 'server_error' } },
    });
    const closedPort = await freePort();
    gateway = await startGateway(
      `
upstreams:
  broken: { format: openai, base_url: ${broken.url} }
  refused: { format: openai, base_url: "http://127.0.0.1:${closedPort}" }
identity: { require_credential: false }
${ADMIN_YAML}
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 1, period: 1d }
`,
      { env: ADMIN_ENV, clock: fakeClock(NOW) },
    );
  });

  afterAll(async () => {
    await gateway.close();
    await broken.close();
  });

  it('releases the hold of a call the upstream answers with 500', async () => {
    const answer = await post(`${gateway.url}/broken/v1/chat/completions`, body, {
      'x-org-id': 'five-hundred',
    });

    expect(answer.status).toBe(500);
    expect(await instanceText(gateway, 'five-hundred')).toMatch(
      /"spent_usd":0,"reserved_usd":0,"limit_usd":1,"utilization":0,/,
    );
  });

  it('releases the hold of a call whose connection is refused', async () => {
    const answer = await post(`${gateway.url}/refused/v1/chat/completions`, body, {
      'x-org-id': 'refused',
    });

    expect(answer.status).toBe(502);
    expect(answer.headers.get('x-spendgate-reason')).toBe('upstream_unavailable');
    expect(await instanceText(gateway, 'refused')).toMatch(
      /"spent_usd":0,"reserved_usd":0,"limit_usd":1,"utilization":0,/,
    );
  });
});

/** The JSON text of one org's budget instance in `GET /budgets`. */
async function instanceText(gateway: TestGateway, org: string): Promise<string> {
  const { data } = await budgetsOf(gateway.url);
  const entry = data.find((b) => b.scope.org === org);
  if (entry === undefined) throw new Error(`GET /budgets lists no instance for org ${org}`);
  return JSON.stringify(entry);
}

/** A port nothing listens on: bound once by the OS, then closed. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
