import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf, costAt, ledgerFile } from '../support/budgets.js';
import { decide, reportUsage } from '../support/decision.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { anthropicUsage, chatUsage } from '../support/wire.js';

// Decisions made from hints (no body, as nginx sends them), their usage reported later, and
// the ones whose usage never comes. gpt-4o here costs $2.50 / $1.25 cached / $10 per million
// tokens; claude-sonnet-4-5 $3 in, $15 out, $3.75 cache writes, $0.30 cache reads.
const PRICING = `
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00, cached_input_per_mtok: 1.25 }
    claude-sonnet-4-5:
      { input_per_mtok: 3, output_per_mtok: 15, cache_write_per_mtok: 3.75, cached_input_per_mtok: 0.30 }
`;

function config(extra = ''): string {
  return `
upstreams:
  openai: { format: openai, base_url: "http://127.0.0.1:9" }
  anthropic: { format: anthropic, base_url: "http://127.0.0.1:9" }
identity: { require_credential: false }
${ADMIN_YAML}${PRICING}
decision: { usage_timeout: 2m }
budgets:
  - { name: team-daily, scope: { team: "*" }, limit_usd: 1, period: 1d }
${extra}`;
}

/** A hinted decision for `POST /openai/v1/chat/completions`: prompt and max output tokens. */
function hinted(url: string, team: string, input: number, maxOutput: number) {
  return decide(url, '/openai/v1/chat/completions', {
    headers: {
      'x-team-id': team,
      'x-spendgate-model': 'gpt-4o',
      'x-spendgate-estimate-tokens': String(input),
      'x-spendgate-max-output-tokens': String(maxOutput),
    },
  });
}

function budgetOf(gateway: TestGateway, team: string) {
  return budgetsOf(gateway.url).then(({ data }) => data.find((b) => b.scope.team === team));
}

describe('decision service: usage reports settle the budget exactly', () => {
  const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(config(), { env: ADMIN_ENV, clock });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('reserves the hinted prompt and output at the model rates until usage comes', async () => {
    // 10,000 prompt tokens at $2.50/M and 20,000 output at $10/M: $0.025 + $0.20.
    const first = await hinted(gateway.url, 'exact', 10_000, 20_000);
    const second = await hinted(gateway.url, 'exact', 10_000, 20_000);

    expect(first.status).toBe(200);
    expect(second.headers.get('ratelimit')).toBe('"team-daily";r=550000;t=43200');
    expect(await budgetOf(gateway, 'exact')).toMatchObject({ spent_usd: 0, reserved_usd: 0.45 });

    const firstUsage = await reportUsage(gateway.url, {
      request_id: first.headers.get('x-spendgate-request-id'),
      model: 'gpt-4o-2024-08-06',
      usage: chatUsage(12_345, 678, 10_240),
    });
    const secondUsage = await reportUsage(gateway.url, {
      request_id: second.headers.get('x-spendgate-request-id'),
      model: 'gpt-4o',
      usage: chatUsage(9_001, 3_333),
    });

    // 2,105 fresh at $2.50, 10,240 cached at $1.25 and 678 out at $10 per million.
    expect(firstUsage.headers.get('x-spendgate-cost-usd')).toBe('0.0248425');
    expect(secondUsage.headers.get('x-spendgate-cost-usd')).toBe(costAt(9_001, 3_333, '2.5', '10'));
    const budget = await budgetOf(gateway, 'exact');
    expect(budget).toMatchObject({ spent_usd: 0.080675, reserved_usd: 0 });
    const row = await rowOf(gateway, first.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      model: 'gpt-4o',
      decision: 'allow',
      status: 200,
      inputTokens: 12_345,
      cachedInputTokens: 10_240,
      outputTokens: 678,
      usageSource: 'provider',
      countedInputTokens: 10_000,
      flags: ['sidecar'],
    });
  });

  it('sums many decisions and reports to the pico-dollar in GET /budgets', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await hinted(gateway.url, 'many', 100, 1_000);
      ids.push(answer.headers.get('x-spendgate-request-id') ?? '');
    }
    for (const [i, id] of ids.entries()) {
      const reported = await reportUsage(gateway.url, {
        request_id: id,
        model: 'gpt-4o',
        usage: chatUsage(101 + i, 7 * i + 1),
      });
      expect(reported.status).toBe(200);
    }

    // Σ (101+i) = 621 prompt tokens and Σ (7i+1) = 111 output tokens, each row rounded alone.
    const rows = await Promise.all(ids.map((id) => rowOf(gateway, id)));
    const total = rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);
    expect(total).toBe(2_662_500_000n);
    const { text } = await budgetsOf(gateway.url);
    expect(await budgetOf(gateway, 'many')).toMatchObject({
      spent_usd: 0.0026625,
      reserved_usd: 0,
    });
    expect(text).toContain('"spent_usd":0.0026625,');
  });

  it('prices an Anthropic usage object on an Anthropic route', async () => {
    const answer = await decide(gateway.url, '/anthropic/v1/messages', {
      headers: { 'x-team-id': 'claude', 'x-spendgate-model': 'claude-sonnet-4-5' },
    });

    const reported = await reportUsage(gateway.url, {
      request_id: answer.headers.get('x-spendgate-request-id'),
      model: 'claude-sonnet-4-5-20250929',
      usage: anthropicUsage(1_000, 500, 2_000, 4_000),
    });

    // 1,000 fresh at $3, 2,000 written at $3.75, 4,000 read at $0.30, 500 out at $15 a million.
    expect(reported.status).toBe(200);
    expect(reported.headers.get('x-spendgate-cost-usd')).toBe('0.0192');
    expect(reported.json.data).toMatchObject({
      input_tokens: 7_000,
      cache_write_tokens: 2_000,
      cached_input_tokens: 4_000,
      output_tokens: 500,
    });
  });

  it('records a failed call reported with its status at no cost', async () => {
    const answer = await hinted(gateway.url, 'failed', 100, 100);

    const reported = await reportUsage(gateway.url, {
      request_id: answer.headers.get('x-spendgate-request-id'),
      model: 'gpt-4o',
      status: 500,
    });

    expect(reported.status).toBe(200);
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({ status: 500, costPico: 0n, flags: ['sidecar', 'upstream_error'] });
    expect(await budgetOf(gateway, 'failed')).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });

  it('refuses a second report for the same decision with 409 and charges once', async () => {
    const answer = await hinted(gateway.url, 'twice', 100, 100);
    const report = {
      request_id: answer.headers.get('x-spendgate-request-id'),
      model: 'gpt-4o',
      usage: chatUsage(100, 100),
    };

    const first = await reportUsage(gateway.url, report);
    const second = await reportUsage(gateway.url, report);

    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(second.json).toMatchObject({ error: { code: 'conflict' } });
    expect(await budgetOf(gateway, 'twice')).toMatchObject({ spent_usd: 0.00125 });
    const rows = (await gateway.rows()).filter((r) => r.team === 'twice');
    expect(rows.map(costUsd)).toEqual(['0.00125']);
  });

  it('writes a refused decision as a row at once, and takes no usage for it', async () => {
    // $0.50 of prompt and $1 of output: more than the whole $1 budget.
    const refused = await hinted(gateway.url, 'refused', 200_000, 100_000);
    const id = refused.headers.get('x-spendgate-request-id');

    const row = await rowOf(gateway, id);
    const reported = await reportUsage(gateway.url, {
      request_id: id,
      model: 'gpt-4o',
      usage: chatUsage(1, 1),
    });

    expect(refused.status).toBe(429);
    expect(row).toMatchObject({
      decision: 'reject',
      reason: 'budget_exceeded',
      status: 429,
      costPico: 0n,
      countedInputTokens: 200_000,
      flags: ['sidecar'],
    });
    expect(reported.status).toBe(409);
  });
});

describe('decision service: reservations whose usage never comes', () => {
  const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(config(), { env: ADMIN_ENV, clock });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('still takes a report just inside decision.usage_timeout', async () => {
    const answer = await hinted(gateway.url, 'late', 100, 100);
    clock.advance(119_999);

    const reported = await reportUsage(gateway.url, {
      request_id: answer.headers.get('x-spendgate-request-id'),
      model: 'gpt-4o',
      usage: chatUsage(100, 100),
    });

    expect(reported.status).toBe(200);
    expect(reported.json.data).toMatchObject({ latency_ms: 119_999 });
  });

  it('releases the reservation at the timeout and writes the row as unreported', async () => {
    const answer = await hinted(gateway.url, 'silent', 10_000, 20_000);
    expect(await budgetOf(gateway, 'silent')).toMatchObject({ reserved_usd: 0.225 });

    clock.advance(120_000);

    // The sweep runs once a second on its own; rowOf waits for the row.
    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(row).toMatchObject({
      decision: 'allow',
      status: 0,
      costPico: 0n,
      inputTokens: 0,
      countedInputTokens: 10_000,
      flags: ['sidecar', 'usage_unreported'],
      latencyMs: 120_000,
    });
    expect(await budgetOf(gateway, 'silent')).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });

  it('answers a report after the timeout with 409, and the row stays as it was', async () => {
    const answer = await hinted(gateway.url, 'too-late', 100, 100);
    clock.advance(120_000);

    const reported = await reportUsage(gateway.url, {
      request_id: answer.headers.get('x-spendgate-request-id'),
      model: 'gpt-4o',
      usage: chatUsage(100, 100),
    });

    expect(reported.status).toBe(409);
    expect(String((reported.json.error as { message: string }).message)).toContain(
      'decision.usage_timeout',
    );
    const rows = (await gateway.rows()).filter((r) => r.team === 'too-late');
    expect(rows.map((r) => [costUsd(r), r.flags])).toEqual([
      ['0', ['sidecar', 'usage_unreported']],
    ]);
  });
});

describe('decision service: a graceful stop', () => {
  it('writes the rows of decisions still waiting, released, before the ledger closes', async () => {
    const file = ledgerFile();
    const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
    const storage = `storage: { ledger: "sqlite:${file}" }\n`;
    const first = await startGateway(config(storage), { env: ADMIN_ENV, clock });
    const waiting = await hinted(first.url, 'stopped', 1_000, 1_000);

    await first.close();
    const second = await startGateway(config(storage), { env: ADMIN_ENV, clock });
    const row = await rowOf(second, waiting.headers.get('x-spendgate-request-id'));
    const budget = await budgetOf(second, 'stopped');
    await second.close();

    expect(row).toMatchObject({ costPico: 0n, flags: ['sidecar', 'usage_unreported'] });
    expect(budget).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });
});

describe('decision service: a caller that leaves during the throttle delay', () => {
  it('records the decision as 499 and holds nothing', async () => {
    const clock = fakeClock(Date.parse('2026-03-10T12:00:00Z'));
    const gateway = await startGateway(
      config(`  - name: slow
    scope: { team: slow }
    limit_usd: 1
    period: 1d
    actions: [{ at: 10, do: throttle, delay_ms: [2000, 2000] }, { at: 100, do: reject }]
`),
      { env: ADMIN_ENV, clock },
    );
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);

    // 50,000 output tokens at $10 per million: half of the budget, inside the throttle band.
    const left = await fetch(`${gateway.url}/v1/decision`, {
      method: 'POST',
      headers: {
        'x-original-uri': '/openai/v1/chat/completions',
        'x-team-id': 'slow',
        'x-spendgate-model': 'gpt-4o',
        'x-spendgate-max-output-tokens': '50000',
      },
      signal: abort.signal,
    }).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    let rows = await gateway.rows();
    for (const until = Date.now() + 3_000; rows.length === 0 && Date.now() < until;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      rows = await gateway.rows();
    }
    const budget = await budgetOf(gateway, 'slow');
    await gateway.close();

    expect(left).toBe('AbortError');
    expect(rows.map((r) => [r.status, r.decision, r.costPico, r.flags])).toEqual([
      [499, 'throttle', 0n, ['sidecar', 'client_disconnected']],
    ]);
    expect(budget).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });
});
