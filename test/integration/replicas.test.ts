import { MIGRATIONS } from '../../src/ledger/postgres/migrations.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { picoToDecimal, usdToPico } from '../../src/money/money.js';
import { countPromptTokens } from '../../src/tokens/index.js';
import { usdCost } from '../support/budgets.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { deleteUnder, keysUnder, redisClient, uniquePrefix } from '../support/redis.js';
import { chatCompletion, chatUsage } from '../support/wire.js';

// Three gateway processes, started from the built binary as users run them, sharing one Redis
// prefix (counters) and one PostgreSQL database (ledger) in front of one upstream. Parallel
// requests spread over the replicas must never take more than the one budget or the one TPM
// limit holds. The upstream answers with exactly the usage that was reserved (the counted
// prompt, and `max_tokens` of completion), so every admitted request holds and then commits the
// same amount, and the number admitted follows from the arithmetic, whatever the timing.

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/spendgate.js');
const REPLICAS = 3;
const REQUESTS = 200;
const IN_FLIGHT = 32;
const ADMIN_TOKEN = 'replicas-admin-secret-7';
const DAY_MS = 86_400_000;

/** The budget scenario: gpt-4o at $2.50 / $10.00 per million, against a $0.25 daily budget. */
const SPEND = {
  org: 'spend-org',
  body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'Price me.' }], max_tokens: 233 },
  prompt: 10,
  // 10 × $2.50/M + 233 × $10.00/M = $0.000025 + $0.00233 = $0.002355 reserved and spent.
  costUsd: '0.002355',
  // floor($0.25 / $0.002355) = 106 (106 × 0.002355 = 0.24963; 107 would make 0.251985).
  admitted: 106,
  spentUsd: '0.24963',
};

/**
 * The TPM scenario: 10 + 9,990 = 10,000 tokens reserved per request, against 60,000 tokens per
 * minute. The bucket starts full, so 6 fit; it refills 1 token per ms, so a 7th fits only 10 s
 * after the 6th. The budget applies too ($0.0359730 for 6), far below its limit.
 */
const TOKENS = {
  org: 'tokens-org',
  body: {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Count me.' }],
    max_tokens: 9_990,
  },
  prompt: 10,
  perRequest: 10_000,
  tpm: 60_000,
  refillPerMs: 1,
  admitted: 6,
  // 10 × $0.15/M + 9,990 × $0.60/M = $0.0059955 per request.
  costUsd: '0.0059955',
  spentUsd: '0.035973',
};

type Replica = {
  name: string;
  url: string;
  child: ChildProcess;
  /** Every log line the process wrote, parsed. */
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
};

type Sent = { replica: number; status: number; headers: Headers; text: string };

let upstream: MockUpstream;
let database: TestDatabase;
let redis: Redis;
let ledger: pg.Client;
let prefix: string;
const replicas: Replica[] = [];
const dirs: string[] = [];
/** The answers of each scenario's burst, by org, for the ledger checks after it. */
const answers = new Map<string, Sent[]>();

function configFor(): string {
  const counters = `redis://127.0.0.1:6379/0?prefix=${prefix}&timeout_ms=1000`;
  return `
listen: { host: 127.0.0.1, port: 0 }
identity: { require_credential: false }
admin:
  tokens:
    - { name: finance, token_env: ADMIN_TOKEN }
storage:
  ledger: "${database.url}"
  counters: "${counters}"
  # timeout_ms=1000: a busy CI machine can pass even the default 250 ms now and then, and under
  # fail_open that request is decided on local counters, which lets replicas overspend. Here a
  # slow Redis is a visible 503 instead.
  on_store_down: fail_closed
upstreams:
  openai: { format: openai, base_url: ${upstream.url} }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00 }
    gpt-4o-mini: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 0.25, period: 1d }
rate_limits:
  - { name: org-tpm, scope: { org: "*" }, tokens_per_minute: ${TOKENS.tpm} }
`;
}

/** Starts `spendgate serve` in a folder of its own (its own spool) and waits until it listens. */
async function startReplica(name: string): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `spendgate-${name}-`));
  dirs.push(dir);
  const file = join(dir, 'spendgate.yaml');
  writeFileSync(file, configFor());
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));

  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        stderr.push(`not a JSON log line: ${line}`);
        return;
      }
      lines.push(entry);
      if (entry.event !== 'gateway.started') return;
      clearTimeout(timer);
      done(Number(entry.port));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code}: ${stderr.join('\n')}`));
    });
  });
  return { name, url: `http://127.0.0.1:${port}`, child, lines, stderr, exited };
}

/** The upstream's answer: the request's own `max_tokens` as completion, a fixed prompt. */
function answerWithReservedUsage(body: string) {
  const request = JSON.parse(body) as { model: string; max_tokens: number };
  const prompt = request.model === SPEND.body.model ? SPEND.prompt : TOKENS.prompt;
  return chatCompletion(request.model, 'OK', chatUsage(prompt, request.max_tokens));
}

/**
 * `REQUESTS` requests, `IN_FLIGHT` at a time, request i to replica i mod 3; the answers in
 * sending order with how long the whole burst took.
 */
async function burst(body: object, org: string): Promise<{ sent: Sent[]; elapsedMs: number }> {
  const sent: Sent[] = new Array<Sent>(REQUESTS);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < REQUESTS) {
      const i = next++;
      const replica = i % REPLICAS;
      const res = await fetch(`${replicas[replica]!.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-org-id': org },
        body: JSON.stringify(body),
      });
      sent[i] = { replica, status: res.status, headers: res.headers, text: await res.text() };
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { sent, elapsedMs: performance.now() - started };
}

type LedgerLine = {
  request_id: string;
  decision: string;
  reason: string | null;
  status: number;
  input_tokens: string;
  output_tokens: string;
  cost_pico: string | null;
};

/** The org's rows in PostgreSQL, once `count` of them are there (rows are written in batches). */
async function ledgerRows(org: string, count: number): Promise<LedgerLine[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const { rows } = await ledger.query<LedgerLine>(
      `SELECT request_id, decision, reason, status, input_tokens, output_tokens, cost_pico
       FROM spendgate_requests WHERE org = $1`,
      [org],
    );
    if (rows.length >= count || Date.now() > until) return rows;
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Each replica's `org-daily` instance for `org`, once no reservation is left open in it. */
async function budgetOnEachReplica(org: string): Promise<string[]> {
  const texts: string[] = [];
  for (const replica of replicas) {
    const until = Date.now() + 5_000;
    for (;;) {
      const res = await fetch(`${replica.url}/api/v1/budgets`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const { data } = (await res.json()) as { data: Record<string, unknown>[] };
      const entry = data.find((b) => (b.scope as Record<string, string>).org === org);
      if (entry === undefined) throw new Error(`${replica.name} lists no budget for ${org}`);
      const text = JSON.stringify(entry);
      if (text.includes('"reserved_usd":0,') || Date.now() > until) {
        texts.push(text);
        break;
      }
      await new Promise((done) => setTimeout(done, 20));
    }
  }
  return texts;
}

/** The rows' request ids, sorted. */
function idsOf(rows: readonly LedgerLine[]): string[] {
  return rows.map((r) => r.request_id).sort();
}

/** The `x-spendgate-request-id` of every answer of the org's burst: 200 distinct ids, sorted. */
function idsAnswered(org: string): string[] {
  const ids = (answers.get(org) ?? []).map((s) => s.headers.get('x-spendgate-request-id') ?? '');
  if (new Set(ids).size !== REQUESTS)
    throw new Error(`the ${org} burst did not get ${REQUESTS} ids`);
  return ids.sort();
}

function sumPico(rows: readonly LedgerLine[]): bigint {
  return rows.reduce((sum, r) => sum + BigInt(r.cost_pico ?? 0), 0n);
}

/** Whole seconds from `ms` to the next UTC midnight, when a `1d` budget resets. */
function secondsToMidnight(ms: number): number {
  return Math.ceil((Math.floor(ms / DAY_MS + 1) * DAY_MS - ms) / 1000);
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    if (build.status !== 0) throw new Error(`build failed:\n${String(build.stdout)}`);
  }
  upstream = await startMockUpstream();
  upstream.reply('/v1/chat/completions', (req) => ({
    kind: 'json',
    // Long enough that dozens of requests are in flight across the replicas at once.
    delayMs: 20,
    body: answerWithReservedUsage(req.body),
  }));
  database = await createTestDatabase();
  ledger = new pg.Client({ connectionString: database.url });
  await ledger.connect();
  redis = redisClient();
  prefix = uniquePrefix('replicas');
  // All at once: their migrations of the one database must take turns, not collide.
  replicas.push(
    ...(await Promise.all(
      Array.from({ length: REPLICAS }, (_, i) => startReplica(`replica-${i + 1}`)),
    )),
  );
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) {
    const { pid, exitCode, signalCode } = replica.child;
    if (pid !== undefined && exitCode === null && signalCode === null) process.kill(pid, 'SIGKILL');
  }
  await Promise.all(replicas.map((r) => r.exited));
  await ledger?.end();
  await database?.drop();
  if (prefix !== undefined) await deleteUnder(redis, prefix);
  redis?.disconnect();
  await upstream?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('replicas: one budget shared through Redis and PostgreSQL', () => {
  it('counts the prompt the arithmetic assumes', () => {
    expect(countPromptTokens('chat', SPEND.body, 'gpt-4o').tokens).toBe(SPEND.prompt);
    expect(countPromptTokens('chat', TOKENS.body, 'gpt-4o-mini').tokens).toBe(TOKENS.prompt);
    expect(picoToDecimal(usdCost(SPEND.prompt, 233, '2.50', '10.00'))).toBe(SPEND.costUsd);
    expect(picoToDecimal(usdCost(TOKENS.prompt, 9_990, '0.15', '0.60'))).toBe(TOKENS.costUsd);
  });

  it('admits exactly 106 of 200 parallel requests over three replicas and rejects 94 with budget_exceeded', async () => {
    const callsBefore = upstream.received.length;
    const startedAt = Date.now();

    const { sent } = await burst(SPEND.body, SPEND.org);
    answers.set(SPEND.org, sent);

    const endedAt = Date.now();
    const ok = sent.filter((s) => s.status === 200);
    const refused = sent.filter((s) => s.status !== 200);
    expect(ok).toHaveLength(SPEND.admitted);
    expect(refused).toHaveLength(REQUESTS - SPEND.admitted);
    for (const s of ok) expect(s.headers.get('x-spendgate-cost-usd')).toBe(SPEND.costUsd);
    for (const s of refused) {
      expect(s.status).toBe(429);
      expect(s.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
      expect(s.headers.get('x-should-retry')).toBe('false');
      const retryAfter = Number(s.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(secondsToMidnight(endedAt));
      expect(retryAfter).toBeLessThanOrEqual(secondsToMidnight(startedAt));
      expect((JSON.parse(s.text) as { error: { code: string } }).error.code).toBe(
        'budget_exceeded',
      );
    }
    // Every replica served its share and refused some: the budget was shared, not split.
    for (let r = 0; r < REPLICAS; r++) {
      expect(sent.filter((s) => s.replica === r)).toHaveLength(r < REQUESTS % REPLICAS ? 67 : 66);
    }
    expect(upstream.received.length - callsBefore).toBe(SPEND.admitted);
  }, 30_000);

  it('has every request id exactly once in the PostgreSQL ledger, costs summing to $0.24963', async () => {
    const rows = await ledgerRows(SPEND.org, REQUESTS);

    expect(rows).toHaveLength(REQUESTS);
    expect(idsOf(rows)).toEqual(idsAnswered(SPEND.org));
    const admitted = rows.filter((r) => r.decision === 'allow');
    const rejected = rows.filter((r) => r.decision === 'reject');
    expect(admitted).toHaveLength(SPEND.admitted);
    expect(rejected).toHaveLength(REQUESTS - SPEND.admitted);
    expect(rejected.every((r) => r.reason === 'budget_exceeded' && r.status === 429)).toBe(true);
    expect(rejected.every((r) => r.cost_pico === '0')).toBe(true);
    expect(admitted.every((r) => r.cost_pico === String(usdToPico(SPEND.costUsd)))).toBe(true);
    expect(sumPico(rows)).toBe(usdToPico(SPEND.spentUsd));
    expect(sumPico(rows) <= usdToPico('0.25')).toBe(true);
  }, 30_000);

  it('reports the same spent_usd, the ledger’s total, on every replica', async () => {
    const texts = await budgetOnEachReplica(SPEND.org);

    for (const text of texts) {
      expect(text).toContain(`"spent_usd":${SPEND.spentUsd},`);
      expect(text).toContain('"reserved_usd":0,');
      expect(text).toContain('"limit_usd":0.25,');
    }
  }, 30_000);
});

describe('replicas: one TPM limit shared through Redis', () => {
  it('admits 6 requests of 10,000 tokens against 60,000 tokens per minute and rejects 194 with tpm_exceeded', async () => {
    const callsBefore = upstream.received.length;

    const { sent, elapsedMs } = await burst(TOKENS.body, TOKENS.org);
    answers.set(TOKENS.org, sent);

    const ok = sent.filter((s) => s.status === 200);
    const refused = sent.filter((s) => s.status !== 200);
    // The bound the bucket guarantees whatever the timing: its capacity plus what it refilled.
    expect(ok.length * TOKENS.perRequest).toBeLessThanOrEqual(
      TOKENS.tpm + Math.floor(elapsedMs * TOKENS.refillPerMs),
    );
    // Under 10 s no refill can fit a 7th request, so the count is exact.
    expect(elapsedMs).toBeLessThan(TOKENS.perRequest / TOKENS.refillPerMs);
    expect(ok).toHaveLength(TOKENS.admitted);
    for (const s of ok) expect(s.headers.get('x-spendgate-cost-usd')).toBe(TOKENS.costUsd);
    for (const s of refused) {
      expect(s.status).toBe(429);
      expect(s.headers.get('x-spendgate-reason')).toBe('tpm_exceeded');
      const retryAfter = Number(s.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(TOKENS.perRequest / TOKENS.refillPerMs / 1000);
    }
    expect(upstream.received.length - callsBefore).toBe(TOKENS.admitted);
  }, 30_000);

  it('records 60,000 admitted tokens and every request once in the ledger', async () => {
    const rows = await ledgerRows(TOKENS.org, REQUESTS);

    expect(rows).toHaveLength(REQUESTS);
    expect(idsOf(rows)).toEqual(idsAnswered(TOKENS.org));
    const admitted = rows.filter((r) => r.decision === 'allow');
    const tokens = admitted.reduce(
      (n, r) => n + Number(r.input_tokens) + Number(r.output_tokens),
      0,
    );
    expect(tokens).toBe(TOKENS.tpm);
    expect(rows.filter((r) => r.reason === 'tpm_exceeded')).toHaveLength(
      REQUESTS - TOKENS.admitted,
    );
    expect(sumPico(rows)).toBe(usdToPico(TOKENS.spentUsd));
    const texts = await budgetOnEachReplica(TOKENS.org);
    for (const text of texts) expect(text).toContain(`"spent_usd":${TOKENS.spentUsd},`);
  }, 30_000);
});

describe('replicas: one started later', () => {
  it('reports the same spend, since its seed from the ledger never adds to Redis, and refuses the next request', async () => {
    const late = await startReplica(`replica-${REPLICAS + 1}`);
    replicas.push(late);

    const answer = await fetch(`${late.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-org-id': SPEND.org },
      body: JSON.stringify(SPEND.body),
    });

    expect(answer.status).toBe(429);
    expect(answer.headers.get('x-spendgate-reason')).toBe('budget_exceeded');
    const texts = await budgetOnEachReplica(SPEND.org);
    expect(texts).toHaveLength(REPLICAS + 1);
    for (const text of texts) expect(text).toContain(`"spent_usd":${SPEND.spentUsd},`);
  }, 30_000);
});

describe('replicas: shutdown', () => {
  it('stops every replica with exit 0, leaving 401 rows, no open hold and no warning', async () => {
    for (const replica of replicas) process.kill(replica.child.pid!, 'SIGTERM');
    const codes = await Promise.all(replicas.map((r) => r.exited));

    expect(codes).toEqual([0, 0, 0, 0]);
    const { rows } = await ledger.query<{ n: string; ids: string }>(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT request_id) AS ids FROM spendgate_requests',
    );
    // Both bursts, and the late replica's one refused request.
    const total = String(2 * REQUESTS + 1);
    expect(rows[0]).toEqual({ n: total, ids: total });
    const migrations = await ledger.query('SELECT version FROM spendgate_migrations');
    // Every migration applied once, whichever replica got the lock first.
    const versions = migrations.rows.map((r: { version: number }) => r.version);
    expect(versions.sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
    // A hold marker (`h` and the separator, then an id) lives until its reservation is
    // committed or released; the budget instances (`b`) are still there.
    const keys = (await keysUnder(redis, prefix)).map((k) => k.slice(prefix.length));
    expect(keys.filter((k) => /^b[:\u0000]/.test(k))).toHaveLength(2);
    expect(keys.filter((k) => /^h[:\u0000]/.test(k))).toEqual([]);
    for (const replica of replicas) {
      const loud = replica.lines.filter((l) =>
        ['warn', 'error', 'fatal'].includes(String(l.level)),
      );
      expect(loud.map((l) => l.event)).toEqual([]);
      expect(replica.stderr).toEqual([]);
    }
  }, 30_000);
});
