import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf } from '../support/budgets.js';
import { decide, reportUsage } from '../support/decision.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { capturingLogger } from '../support/log-capture.js';
import { costUsd, rowOf } from '../support/ledger.js';
import { chatUsage } from '../support/wire.js';

// Hostile and odd calls to the decision service and to /v1/usage. gpt-4o costs $2.50 in and
// $10 out per million tokens; team `capped` has a $1 daily budget.
const NOW = Date.parse('2026-03-10T12:00:00Z');
const CHAT = '/openai/v1/chat/completions';

let gateway: TestGateway;
const { logger, lines } = capturingLogger();

beforeAll(async () => {
  gateway = await startGateway(
    `
upstreams:
  openai: { format: openai, base_url: "http://127.0.0.1:9" }
  anthropic: { format: anthropic, base_url: "http://127.0.0.1:9" }
identity: { require_credential: false }
listen: { max_body_mb: 1 }
${ADMIN_YAML}
attribution:
  team: [header:x-team-id, unattributed]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: capped, scope: { team: capped }, limit_usd: 1, period: 1d }
`,
    { env: ADMIN_ENV, clock: fakeClock(NOW), logger },
  );
});

afterAll(async () => {
  await gateway.close();
});

const HINTS = { 'x-spendgate-model': 'gpt-4o' };

async function rowCount(): Promise<number> {
  return (await gateway.rows()).length;
}

describe('decision service: hostile X-Original-URI', () => {
  it.each([
    ['a full URL', 'http://evil.example/openai/v1/chat/completions', 400, 'invalid_request'],
    ['dot segments', '/openai/v1/../../anthropic/v1/messages', 400, 'invalid_request'],
    ['an encoded slash', '/openai%2fv1/chat/completions', 400, 'invalid_request'],
    ['a doubled slash', '//openai/v1/chat/completions', 400, 'invalid_request'],
    ['only a slash', '/', 404, 'unknown_upstream'],
    ['a bare upstream name', '/openai', 200, null],
  ])('answers %s (%s) with %i and writes at most one row', async (_what, uri, status, reason) => {
    const before = await rowCount();

    const answer = await decide(gateway.url, uri, { headers: HINTS });

    expect(answer.status).toBe(status);
    expect(answer.headers.get('x-spendgate-reason')).toBe(reason);
    expect(await rowCount()).toBeLessThanOrEqual(before + 1);
  });

  it('answers a 12 KB upstream name without repeating all of it in a header', async () => {
    const name = 'u'.repeat(12_000);

    const answer = await decide(gateway.url, `/${name}/v1/chat/completions`, {
      headers: { ...HINTS, 'x-spendgate-reject-status': '403' },
    });

    // 12 KB in x-spendgate-error-body is past nginx's buffer for an answer's headers (4-8 KB):
    // the client would get a 502 instead of the 404.
    const body = JSON.parse(answer.headers.get('x-spendgate-error-body') ?? '{}') as {
      error: { message: string };
    };
    expect(answer.status).toBe(403);
    expect(answer.headers.get('x-spendgate-status')).toBe('404');
    expect(body.error.message).toBe(
      `no upstream named "${'u'.repeat(100)}…"; configured: /openai, /anthropic`,
    );
  });

  it('answers a URI too large for the header limit with a 431 JSON error', async () => {
    const answer = await decide(gateway.url, `/openai/${'x'.repeat(20_000)}`, { headers: HINTS });

    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'invalid_request' } });
  });
});

describe('decision service: hostile forwarded bodies', () => {
  it('answers a body past listen.max_body_mb with 413 and one row, and the connection stays usable', async () => {
    const body = JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }],
    });

    const big = await fetch(`${gateway.url}/v1/decision`, {
      method: 'POST',
      headers: { 'x-original-uri': CHAT, 'content-type': 'application/json' },
      body,
    });
    const text = await big.text();
    const next = await decide(gateway.url, CHAT, { headers: HINTS });

    const row = await rowOf(gateway, big.headers.get('x-spendgate-request-id'));
    expect(big.status).toBe(413);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'request_too_large' } });
    expect(row).toMatchObject({ decision: 'reject', reason: 'request_too_large', status: 413 });
    expect(next.status).toBe(200);
  });

  it.each([
    ['a JSON array', '[1, 2]'],
    ['a number', '42'],
    ['a model that is not a string', '{"model": {"$ne": 1}, "messages": []}'],
  ])('answers %s as the proxy would, with 400 and one row', async (_what, body) => {
    const answer = await fetch(`${gateway.url}/v1/decision`, {
      method: 'POST',
      headers: { 'x-original-uri': CHAT, 'content-type': 'application/json' },
      body,
    });
    await answer.arrayBuffer();

    const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
    expect(answer.status).toBe(400);
    expect(row).toMatchObject({ decision: 'reject', status: 400 });
  });
});

describe('decision service: hostile hints', () => {
  it.each(['-1', '1.5', 'NaN', 'Infinity', '', ' ', '12abc', '9007199254740993', '-0x10'])(
    'refuses x-spendgate-estimate-tokens %j with 400 and one row',
    async (value) => {
      const answer = await decide(gateway.url, CHAT, {
        headers: { ...HINTS, 'x-spendgate-estimate-tokens': value },
      });

      const row = await rowOf(gateway, answer.headers.get('x-spendgate-request-id'));
      expect(answer.status).toBe(400);
      expect(answer.headers.get('x-spendgate-reason')).toBe('invalid_request');
      expect(row).toMatchObject({ decision: 'reject', reason: 'invalid_request', status: 400 });
    },
  );

  it('refuses an absurd but whole estimate on a budget with 429, not a 500', async () => {
    const answer = await decide(gateway.url, CHAT, {
      headers: {
        ...HINTS,
        'x-team-id': 'capped',
        'x-spendgate-estimate-tokens': String(Number.MAX_SAFE_INTEGER),
        'x-spendgate-max-output-tokens': String(Number.MAX_SAFE_INTEGER),
      },
    });

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
  });
});

describe('decision service: hostile usage reports', () => {
  async function allowed(team = 'free'): Promise<string> {
    const answer = await decide(gateway.url, CHAT, {
      headers: {
        ...HINTS,
        'x-team-id': team,
        'x-spendgate-estimate-tokens': '1000',
        'x-spendgate-max-output-tokens': '1000',
      },
    });
    if (answer.status !== 200) throw new Error(`decision answered ${answer.status}`);
    return answer.headers.get('x-spendgate-request-id') ?? '';
  }

  it('answers 413 to a 1 MB body and keeps the decision waiting', async () => {
    const id = await allowed();

    const huge = await fetch(`${gateway.url}/v1/usage`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ request_id: id, usage: chatUsage(1, 1), pad: 'x'.repeat(1 << 20) }),
    });
    const good = await reportUsage(gateway.url, { request_id: id, usage: chatUsage(1_000, 10) });

    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'request_too_large' } });
    expect(good.status).toBe(200);
    expect(good.headers.get('x-spendgate-cost-usd')).toBe('0.0026');
  });

  it.each([
    ['not JSON', 'request_id=abc'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"usage"'],
    ['JSON null', 'null'],
    ['a number id', '{"request_id": 42, "usage": {"prompt_tokens": 1}}'],
    ['a 200-character id', JSON.stringify({ request_id: 'i'.repeat(200), usage: {} })],
  ])('answers %s with 400 invalid_request', async (_what, body) => {
    const answer = await reportUsage(gateway.url, body);

    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('answers 400 to negative, fractional and string token counts, and keeps waiting', async () => {
    const id = await allowed();

    const negative = await reportUsage(gateway.url, {
      request_id: id,
      usage: { prompt_tokens: -1000, completion_tokens: -5 },
    });
    const strings = await reportUsage(gateway.url, {
      request_id: id,
      usage: { prompt_tokens: '1000', completion_tokens: '5' },
    });
    const fractions = await reportUsage(gateway.url, {
      request_id: id,
      usage: { prompt_tokens: 0.5, completion_tokens: 1.5 },
    });
    const good = await reportUsage(gateway.url, { request_id: id, usage: chatUsage(10, 10) });

    expect([negative.status, strings.status, fractions.status]).toEqual([400, 400, 400]);
    expect(good.status).toBe(200);
  });

  it.each([
    ['no scheme', ADMIN_ENV.ADMIN_TOKEN],
    ['Basic', `Basic ${ADMIN_ENV.ADMIN_TOKEN}`],
    ['a prefix of the token', `Bearer ${ADMIN_ENV.ADMIN_TOKEN.slice(0, -1)}`],
    ['the token and more', `Bearer ${ADMIN_ENV.ADMIN_TOKEN}x`],
    ['an empty token', 'Bearer '],
  ])('answers 401 to an Authorization with %s, without echoing it', async (_what, header) => {
    const res = await fetch(`${gateway.url}/v1/usage`, {
      method: 'POST',
      headers: { authorization: header, 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: 'x', usage: chatUsage(1, 1) }),
    });
    const text = await res.text();

    expect(res.status).toBe(401);
    expect(text).not.toContain(ADMIN_ENV.ADMIN_TOKEN.slice(0, -1));
  });

  it('answers 403 to the scoped token, whatever the decision', async () => {
    const id = await allowed();

    const answer = await reportUsage(
      gateway.url,
      { request_id: id, usage: chatUsage(1, 1) },
      ADMIN_ENV.ACME_TOKEN,
    );
    const good = await reportUsage(gateway.url, { request_id: id, usage: chatUsage(1, 1) });

    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({ error: { code: 'forbidden' } });
    expect(good.status).toBe(200);
  });

  it('answers 404 to the id of a request that was never a decision', async () => {
    const answer = await reportUsage(gateway.url, {
      request_id: '00000000-0000-4000-8000-000000000000',
      usage: chatUsage(1, 1),
    });

    expect(answer.status).toBe(404);
  });

  it('answers 409 to usage for a refused decision and charges nothing', async () => {
    const refused = await decide(gateway.url, CHAT, {
      headers: { ...HINTS, 'x-team-id': 'capped', 'x-spendgate-estimate-tokens': '1000000' },
    });
    const id = refused.headers.get('x-spendgate-request-id');

    const answer = await reportUsage(gateway.url, { request_id: id, usage: chatUsage(1, 1) });

    const row = await rowOf(gateway, id);
    expect(refused.status).toBe(429);
    expect(answer.status).toBe(409);
    expect(row).toMatchObject({ decision: 'reject', costPico: 0n });
  });

  it('refuses a usage dearer than a row can hold, keeps waiting, and the ledger keeps writing', async () => {
    const id = await allowed('absurd');

    // 10^15 prompt tokens at $2.50/M: $2.5 billion, past the $9.2 million a BIGINT row holds.
    // Taken, it made the SQLite ledger refuse its batch again and again, so no row was written.
    const absurd = await reportUsage(gateway.url, {
      request_id: id,
      usage: { prompt_tokens: 1e15, completion_tokens: 0 },
    });
    const good = await reportUsage(gateway.url, { request_id: id, usage: chatUsage(4_000, 0) });

    const row = await rowOf(gateway, id);
    expect(absurd.status).toBe(400);
    expect(absurd.json).toMatchObject({
      error: {
        code: 'invalid_request',
        message:
          '"usage" would cost $2500000000, more than one request can be recorded at ($9223372.036854775807); the decision keeps waiting',
      },
    });
    expect(good.status).toBe(200);
    expect(costUsd(row)).toBe('0.01');
  });

  it('takes exactly one of 20 parallel reports of one decision, and charges it once', async () => {
    const id = await allowed('parallel');

    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        reportUsage(gateway.url, { request_id: id, usage: chatUsage(2_000, 100) }),
      ),
    );

    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const rows = (await gateway.rows()).filter((r) => r.requestId === id);
    expect(rows).toHaveLength(1);
    expect(costUsd(rows[0]!)).toBe('0.006');
  });
});

describe('decision service: secrets', () => {
  const JWT =
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciIsIm9yZ19pZCI6ImFjbWUifQ.c2lnbmF0dXJlLXNlY3JldA';
  const API_KEY = 'sk-proj-TOPSECRETKEY0123456789';

  it('never echoes Authorization, x-api-key or api-key in answers, rows or logs', async () => {
    const answers = [
      await decide(gateway.url, CHAT, {
        headers: { ...HINTS, authorization: `Bearer ${JWT}`, 'x-api-key': API_KEY },
      }),
      await decide(gateway.url, `/nowhere/${API_KEY}`, {
        headers: { ...HINTS, authorization: `Bearer ${JWT}`, 'api-key': API_KEY },
      }),
      await decide(gateway.url, CHAT, {
        headers: {
          ...HINTS,
          'x-team-id': 'capped',
          'x-spendgate-estimate-tokens': '1000000',
          'x-spendgate-reject-status': '403',
          authorization: `Bearer ${JWT}`,
        },
      }),
    ];
    const usage = await reportUsage(gateway.url, { request_id: 'x', usage: {} }, JWT);

    const seen = [
      ...answers.map((a) => a.text + JSON.stringify([...a.headers.entries()])),
      usage.text,
      JSON.stringify(await gateway.rows(), (_k, v: unknown) =>
        typeof v === 'bigint' ? String(v) : v,
      ),
      JSON.stringify(lines),
      (await budgetsOf(gateway.url)).text,
    ].join('\n');
    expect(seen).not.toContain(JWT);
    expect(seen).not.toContain(JWT.split('.')[2]);
    expect(seen).not.toContain(API_KEY.slice(8));
  });

  it('answers a forged or expired JWT with 401 and keeps it out of the answer, row and logs', async () => {
    const jwtLines = capturingLogger();
    const guarded = await startGateway(
      `
upstreams:
  openai: { format: openai, base_url: "http://127.0.0.1:9", api_key_env: OPENAI_API_KEY }
identity:
  jwt: { hs256_secret_env: JWT_SECRET, issuer: https://id.example, audience: llm }
attribution:
  org: [jwt:org_id, unattributed]
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
`,
      {
        env: { OPENAI_API_KEY: 'sk-provider-NEVER-SHOWN', JWT_SECRET: 'jwt-secret-NEVER-SHOWN' },
        logger: jwtLines.logger,
      },
    );
    try {
      const answers = [];
      for (const credential of [`Bearer ${JWT}`, `Bearer ${API_KEY}`]) {
        answers.push(
          await decide(guarded.url, CHAT, {
            headers: { ...HINTS, authorization: credential, 'x-spendgate-reject-status': '401' },
          }),
        );
      }

      const rows = JSON.stringify(await guarded.rows(), (_k, v: unknown) =>
        typeof v === 'bigint' ? String(v) : v,
      );
      const seen = [
        ...answers.map((a) => a.text + JSON.stringify([...a.headers.entries()])),
        rows,
        JSON.stringify(jwtLines.lines),
      ].join('\n');
      expect(answers.map((a) => [a.status, a.headers.get('x-spendgate-status')])).toEqual([
        [401, '401'],
        [401, '401'],
      ]);
      expect(answers[0]?.headers.get('x-spendgate-reason')).toBe('invalid_token');
      for (const secret of [JWT, JWT.split('.')[2] as string, API_KEY.slice(8), 'NEVER-SHOWN']) {
        expect(seen).not.toContain(secret);
      }
    } finally {
      await guarded.close();
    }
  });
});
