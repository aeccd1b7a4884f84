import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvents } from '../../src/cli/commands/events.js';
import { runStatus } from '../../src/cli/commands/status.js';
import { startGateway, type TestGateway, openAiGatewayYaml } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

const ENV = { ADMIN: 'admin-secret' };
let upstream: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', {
    kind: 'json',
    body: {
      choices: [],
      usage: { prompt_tokens: 100000, completion_tokens: 0, total_tokens: 100000 },
    },
  });
  gateway = await startGateway(
    `
admin: { tokens: [{ name: finance, token_env: ADMIN }] }
${openAiGatewayYaml(upstream.url)}budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 0.30, period: 1d }
`,
    { env: ENV },
  );
  // $0.25 of $0.30 spent: 83% of the budget, near its limit.
  await fetch(`${gateway.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-org-id': 'acme' },
    body: JSON.stringify({
      model: 'gpt-4o',
      max_tokens: 1,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  await fetch(`${gateway.url}/api/v1/kill-switches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ENV.ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dimension: 'org', value: 'globex', reason: 'runaway agent' }),
  });
  await gateway.deps.ledger.flush();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('spendgate status and events', () => {
  it('status shows health, the config version and the budgets near their limit', async () => {
    const lines: string[] = [];

    const code = await runStatus({ url: gateway.url, token: ENV.ADMIN }, (l) => lines.push(l));

    expect(code).toBe(0);
    expect(lines[0]).toBe(`gateway ${gateway.url}: ready, config ${gateway.deps.config.version}`);
    expect(lines[1]).toBe('1 budget instance(s), 1 at or above 80%');
    // The table: header, rule, then the one budget near its limit (no stages: stage ok).
    const table = (lines[2] ?? '').split('\n');
    expect(table[0]).toMatch(/^budget\s+scope\s+used\s+spent\s+limit\s+stage/);
    expect(table[2]).toMatch(/^org-daily\s+org=acme\s+83\.3%\s+0\.25\s+0\.3\s+ok\s/);
  });

  it('events prints the latest events, naming the admin who acted', async () => {
    const lines: string[] = [];

    await runEvents(
      { url: gateway.url, token: ENV.ADMIN },
      { follow: false, out: (l) => lines.push(l) },
    );

    // The message names the admin already; the reason comes from the event's data.
    expect(lines.filter((l) => l.includes('kill_switch_created'))).toEqual([
      expect.stringMatching(
        /^\S+Z {2}kill_switch_created {2}kill switch org=globex set by finance; reason: runaway agent$/,
      ),
    ]);
  });

  it('events --follow prints new events as they happen', async () => {
    const lines: string[] = [];
    const stop = new AbortController();

    const following = runEvents(
      { url: gateway.url, token: ENV.ADMIN },
      { follow: true, intervalMs: 50, signal: stop.signal, out: (l) => lines.push(l) },
    );
    await new Promise((r) => setTimeout(r, 100));
    await fetch(`${gateway.url}/api/v1/kill-switches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dimension: 'org', value: 'initech' }),
    });
    await gateway.deps.ledger.flush();
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    await following;

    expect(lines.filter((l) => l.includes('org=initech'))).toHaveLength(1);
  });
});
