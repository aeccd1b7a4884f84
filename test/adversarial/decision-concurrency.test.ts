import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClock } from '../../src/clock.js';
import type { LedgerRow } from '../../src/ledger/row.js';
import { picoToDecimal } from '../../src/money/money.js';
import { ADMIN_ENV, ADMIN_YAML, budgetsOf, ledgerFile } from '../support/budgets.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { deleteUnder, redisClient, uniquePrefix } from '../support/redis.js';
import { chatUsage } from '../support/wire.js';

// Many decisions and usage reports at once against one $1 budget. A hinted decision of 1,000
// prompt and 1,000 output tokens of gpt-4o ($2.50 / $10 per million) reserves $0.0125, so
// exactly 80 fit; a report of 500 / 250 tokens settles one at $0.00375.
const RESERVED_EACH = 12_500_000_000n;
const SETTLED_EACH = 3_750_000_000n;
const LIMIT = 1_000_000_000_000n;
const NOW = Date.parse('2026-03-10T12:00:00Z');

// 1,000 requests at once: more sockets than the default pool would open at a time.
const dispatcher = new Agent({ connections: 2_000, pipelining: 0 });

afterAll(async () => {
  await dispatcher.close();
});

function config(counters = 'memory', usageTimeout = '10m'): string {
  return `
upstreams:
  openai: { format: openai, base_url: "http://127.0.0.1:9" }
identity: { require_credential: false }
${ADMIN_YAML}
storage: { counters: "${counters}" }
decision: { usage_timeout: ${usageTimeout} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
budgets:
  - { name: shared, scope: { team: "*" }, limit_usd: 1, period: 1d }
`;
}

type Answer = { status: number; id: string };

async function decideOnce(url: string, team: string): Promise<Answer> {
  const res = await fetch(`${url}/v1/decision`, {
    method: 'POST',
    headers: {
      'x-original-uri': '/openai/v1/chat/completions',
      'x-team-id': team,
      'x-spendgate-model': 'gpt-4o',
      'x-spendgate-estimate-tokens': '1000',
      'x-spendgate-max-output-tokens': '1000',
    },
    dispatcher,
  } as RequestInit);
  await res.arrayBuffer();
  return { status: res.status, id: res.headers.get('x-spendgate-request-id') ?? '' };
}

async function report(url: string, id: string): Promise<number> {
  const res = await fetch(`${url}/v1/usage`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_ENV.ADMIN_TOKEN}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ request_id: id, usage: chatUsage(500, 250) }),
    dispatcher,
  } as RequestInit);
  await res.arrayBuffer();
  return res.status;
}

/** Committed and reserved pico-dollars of one team's instance, as GET /budgets gives them. */
async function heldBy(url: string, team: string): Promise<{ spent: string; reserved: string }> {
  const { text } = await budgetsOf(url);
  const entry = (JSON.parse(text) as { data: Record<string, unknown>[] }).data.find(
    (b) => (b.scope as Record<string, string>).team === team,
  );
  // Exact decimals: read them from the text, not from the parsed doubles.
  const at = text.indexOf(`"team":"${team}"`);
  const tail = text.slice(at);
  const spent = /"spent_usd":([0-9.e-]+)/.exec(tail)?.[1] ?? 'none';
  const reserved = /"reserved_usd":([0-9.e-]+)/.exec(tail)?.[1] ?? 'none';
  return entry ? { spent, reserved } : { spent: 'none', reserved: 'none' };
}

/** Every row of one team (the test helper's `rows()` stops at 1,000). */
async function rowsOf(gateway: TestGateway, team: string): Promise<LedgerRow[]> {
  await gateway.deps.ledger.flush();
  return (await gateway.deps.ledger.queryRequests({ team }, 5_000)).rows;
}

function sumOf(rows: readonly LedgerRow[]): bigint {
  return rows.reduce((sum, r) => sum + (r.costPico ?? 0n), 0n);
}

describe('decision service: 1,000 parallel decisions against one budget', () => {
  const clock = fakeClock(NOW);
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(config(), { env: ADMIN_ENV, clock });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('allows exactly the 80 that fit and refuses the other 920', async () => {
    const answers = await Promise.all(
      Array.from({ length: 1_000 }, () => decideOnce(gateway.url, 'burst')),
    );

    const allowed = answers.filter((a) => a.status === 200);
    expect(allowed).toHaveLength(80);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(920);
    expect(await heldBy(gateway.url, 'burst')).toEqual({ spent: '0', reserved: '1' });
  });

  it('never passes the limit while reports and new decisions race, and the rows add up', async () => {
    const first = await Promise.all(
      Array.from({ length: 80 }, () => decideOnce(gateway.url, 'race')),
    );
    const waiting = first.filter((a) => a.status === 200).map((a) => a.id);
    expect(waiting).toHaveLength(80);

    // Every report frees $0.00875 of the $0.0125 it held: new decisions fill it as it comes.
    const [reports, later] = await Promise.all([
      Promise.all(waiting.map((id) => report(gateway.url, id))),
      Promise.all(Array.from({ length: 400 }, () => decideOnce(gateway.url, 'race'))),
    ]);

    const newlyAllowed = later.filter((a) => a.status === 200).length;
    expect(reports.every((s) => s === 200)).toBe(true);
    const held = 80n * SETTLED_EACH + BigInt(newlyAllowed) * RESERVED_EACH;
    expect(held <= LIMIT).toBe(true);
    expect(await heldBy(gateway.url, 'race')).toEqual({
      spent: picoToDecimal(80n * SETTLED_EACH),
      reserved: picoToDecimal(BigInt(newlyAllowed) * RESERVED_EACH),
    });
    const rows = await rowsOf(gateway, 'race');
    expect(rows).toHaveLength(480);
    expect(sumOf(rows)).toBe(80n * SETTLED_EACH);
  });
});

describe('decision service: reports racing the usage timeout', () => {
  const clock = fakeClock(NOW);
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(config('memory', '2m'), { env: ADMIN_ENV, clock });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('writes one row per decision and charges only the reports that were taken', async () => {
    const decided = await Promise.all(
      Array.from({ length: 40 }, () => decideOnce(gateway.url, 'edge')),
    );
    const ids = decided.map((a) => a.id);
    expect(decided.every((a) => a.status === 200)).toBe(true);

    // Just inside the timeout, then the clock passes it while the reports are in flight.
    clock.advance(119_999);
    const racing = Promise.all(ids.map((id) => report(gateway.url, id)));
    setImmediate(() => clock.advance(1));
    const statuses = await racing;

    const rows = await rowsOf(gateway, 'edge');
    const taken = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(40);
    for (const [i, id] of ids.entries()) {
      const row = rows.find((r) => r.requestId === id) as LedgerRow;
      if (statuses[i] === 200) {
        expect(row).toMatchObject({ costPico: SETTLED_EACH, status: 200, flags: ['sidecar'] });
      } else {
        expect(row).toMatchObject({ costPico: 0n, status: 0 });
        expect(row.flags).toContain('usage_unreported');
      }
    }
    expect(await heldBy(gateway.url, 'edge')).toEqual({
      spent: picoToDecimal(BigInt(taken) * SETTLED_EACH),
      reserved: '0',
    });
  });
});

describe('decision service: 1,000 parallel decisions on two replicas sharing Redis', () => {
  const prefix = uniquePrefix('decision-burst');
  const redis = redisClient();
  const clock = fakeClock(NOW);
  let gateways: TestGateway[] = [];

  beforeAll(async () => {
    const counters = `redis://127.0.0.1:6379/0?prefix=${prefix}&timeout_ms=2000`;
    const file = ledgerFile();
    const yaml = config(counters).replace('storage: {', `storage: { ledger: "sqlite:${file}",`);
    gateways = [
      await startGateway(yaml, { env: ADMIN_ENV, clock }),
      await startGateway(yaml.replace(file, `${file}-b`), { env: ADMIN_ENV, clock }),
    ];
  });

  afterAll(async () => {
    for (const g of gateways) await g.close();
    await deleteUnder(redis, prefix);
    redis.disconnect();
  });

  it('allows exactly 80 between them, and Redis holds exactly their reservations', async () => {
    const answers = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        decideOnce((gateways[i % 2] as TestGateway).url, 'fleet'),
      ),
    );

    expect(answers.filter((a) => a.status === 200)).toHaveLength(80);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(920);
    const rows = [
      ...(await rowsOf(gateways[0]!, 'fleet')),
      ...(await rowsOf(gateways[1]!, 'fleet')),
    ];
    // The 920 refusals are rows at once; the 80 allowed ones wait for their usage.
    expect(rows).toHaveLength(920);
    expect(rows.filter((r) => r.flags.includes('fail_open'))).toEqual([]);
    expect(await heldBy(gateways[0]!.url, 'fleet')).toEqual({ spent: '0', reserved: '1' });
  });
});
