/**
 * `GET /budgets` while an instance refuses requests whose reservation is larger than what is
 * left, its utilization still below the reject stage: the stage says `reject` for 60 s after
 * the last refusal, and `last_rejection_at` says when it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { loadConfigText } from '../../src/config/load.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf, chatEchoingMaxTokens } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, type Answer } from '../support/http.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';

// Output costs $0.01 a token and input nothing: a request reserves and costs `max_tokens` cents.
const PRICING = `
pricing:
  models:
    flat-model: { input_per_mtok: 0, output_per_mtok: 10000 }
`;

// 09:00 UTC; the refusal comes 1.25 s later.
const START = Date.parse('2026-03-10T09:00:00Z');

let upstream: MockUpstream;
let gateway: TestGateway;
const clock = fakeClock(START);

function configFor(streams: 'cut' | 'finish'): string {
  return `
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
identity: { require_credential: false }
${ADMIN_YAML}${PRICING}
budgets:
  - name: org-daily
    scope: { org: "*" }
    limit_usd: 1
    period: 1d
    streams: ${streams}
    actions: [{ at: 80, do: warn }, { at: 100, do: reject }]
`;
}

function spend(org: string, cents: number): Promise<Answer> {
  return post(
    `${gateway.url}/openai/v1/chat/completions`,
    { model: 'flat-model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: cents },
    { 'x-org-id': org },
  );
}

async function instance(org: string) {
  const { data } = await budgetsOf(gateway.url);
  return data.find((b) => b.scope.org === org);
}

beforeAll(async () => {
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', chatEchoingMaxTokens('flat-model', 5));
  gateway = await startGateway(configFor('cut'), { env: ADMIN_ENV, clock });
  // acme has spent 90% ($0.90 of $1); globex 10%.
  expect((await spend('acme', 90)).status).toBe(200);
  expect((await spend('globex', 10)).status).toBe(200);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('GET /budgets after a refusal below the reject stage', () => {
  it('reports an instance that never refused at its utilization stage, with no rejection', async () => {
    expect(await instance('acme')).toMatchObject({
      utilization: 0.9,
      stage: 'warn',
      last_rejection_at: null,
    });
  });

  it('says reject, at the time of the refusal, once a reservation larger than what is left is refused', async () => {
    clock.advance(1_250);

    // 20 cents asked, 10 left: refused while 90% is used.
    const refused = await spend('acme', 20);

    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    expect(await instance('acme')).toMatchObject({
      spent_usd: 0.9,
      reserved_usd: 0,
      utilization: 0.9,
      stage: 'reject',
      last_rejection_at: '2026-03-10T09:00:01.250Z',
    });
    expect(await instance('globex')).toMatchObject({
      utilization: 0.1,
      stage: 'ok',
      last_rejection_at: null,
    });
  });

  it('keeps the refusal across a config reload', async () => {
    const file = `${gateway.dir}/spendgate.yaml`;
    const reloaded = await gateway.reload(loadConfigText(configFor('finish'), file, ADMIN_ENV));

    expect(reloaded).toEqual({ ok: true, problem: null });
    expect(await instance('acme')).toMatchObject({
      stage: 'reject',
      last_rejection_at: '2026-03-10T09:00:01.250Z',
    });
  });

  it('still says reject 59.999 s after the refusal', async () => {
    clock.advance(59_999);

    expect(await instance('acme')).toMatchObject({
      stage: 'reject',
      last_rejection_at: '2026-03-10T09:00:01.250Z',
    });
  });

  it('goes back to the stage utilization gives 60 s after the refusal, keeping its time', async () => {
    clock.advance(1);

    expect(await instance('acme')).toMatchObject({
      utilization: 0.9,
      stage: 'warn',
      last_rejection_at: '2026-03-10T09:00:01.250Z',
    });
  });

  it('moves to the latest refusal and still serves what fits', async () => {
    clock.advance(5_000);

    const refused = await spend('acme', 11);
    const served = await spend('acme', 10);

    expect(refused.status).toBe(429);
    expect(served.status).toBe(200);
    expect(await instance('acme')).toMatchObject({
      spent_usd: 1,
      utilization: 1,
      stage: 'reject',
      last_rejection_at: '2026-03-10T09:01:06.250Z',
    });
  });
});
