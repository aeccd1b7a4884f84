import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { picoToNumber } from '../../src/money/money.js';
import { startGateway, type TestGateway, openAiGatewayYaml } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

let upstream: MockUpstream;
let gateway: TestGateway;

// One sample line of the Prometheus text format: name, optional labels, a number.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;

function samples(text: string, name: string): { labels: string; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const m = SAMPLE.exec(l);
      return { labels: m?.[2] ?? '', value: Number(m?.[3]) };
    });
}

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', (req) => {
    const tokens = JSON.parse(req.body).max_tokens as number;
    return {
      kind: 'json',
      body: {
        choices: [],
        usage: {
          prompt_tokens: 1000 + tokens,
          completion_tokens: tokens,
          total_tokens: 1000 + 2 * tokens,
        },
      },
    };
  });
  gateway = await startGateway(`
${openAiGatewayYaml(upstream.url)}budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 10, period: 1d }
`);
  for (const [org, n] of [
    ['acme', 7],
    ['globex', 13],
    ['acme', 29],
  ] as const) {
    await fetch(`${gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': org },
      body: JSON.stringify({
        model: 'gpt-4o',
        max_tokens: n,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
  }
  await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', body: 'not json' });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('GET /metrics', () => {
  it('parses as Prometheus text, every sample line well formed', async () => {
    const res = await fetch(`${gateway.url}/metrics`);
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    // Node's process metrics under one prefix, not `spendgate_process_process_…`.
    expect(samples(text, 'spendgate_process_cpu_user_seconds_total')).toHaveLength(1);
    expect(text).not.toContain('spendgate_process_process_');
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('# HELP') || line.startsWith('# TYPE')) continue;
      expect(line).toMatch(SAMPLE);
    }
  });

  it('counts spend equal to the ledger total, and requests by decision and reason', async () => {
    // Three requests of 0.00725 USD each: added as floats they make 0.021750000000000002.
    for (let i = 0; i < 3; i += 1) {
      await fetch(`${gateway.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-org-id': 'initech' },
        body: JSON.stringify({
          model: 'gpt-4o',
          max_tokens: 380,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
    }
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const rows = await gateway.rows();
    const ledgerTotal = picoToNumber(rows.reduce((s, r) => s + (r.costPico ?? 0n), 0n));

    const spend = samples(text, 'spendgate_spend_usd_total').reduce((s, x) => s + x.value, 0);
    expect(spend).toBeCloseTo(ledgerTotal, 12);
    expect(
      samples(text, 'spendgate_spend_usd_total')
        .map((s) => s.labels)
        .sort(),
    ).toEqual([
      '{org="acme",provider="openai",model="gpt-4o"}',
      '{org="globex",provider="openai",model="gpt-4o"}',
      '{org="initech",provider="openai",model="gpt-4o"}',
    ]);
    // Exact decimals, summed in pico-dollars, with no float drift.
    expect(text).toContain(
      'spendgate_spend_usd_total{org="initech",provider="openai",model="gpt-4o"} 0.02175\n',
    );
    expect(text).toContain(
      'spendgate_spend_usd_total{org="acme",provider="openai",model="gpt-4o"} 0.00545\n',
    );
    expect(text).toContain(
      'spendgate_spend_usd_total{org="globex",provider="openai",model="gpt-4o"} 0.0026625\n',
    );
    const requests = samples(text, 'spendgate_requests_total');
    expect(requests.find((r) => r.labels.includes('decision="allow"'))?.value).toBe(6);
    expect(requests.find((r) => r.labels.includes('reason="invalid_request"'))?.value).toBe(1);
    expect(samples(text, 'spendgate_budget_utilization_ratio')).toHaveLength(3);
    expect(samples(text, 'spendgate_ledger_queue_rows')).toHaveLength(1);
  });
});
