/**
 * The replicas bench: Spendgate with shared storage (Redis counters, PostgreSQL ledger), one
 * replica against two, with the same load straight to the upstream as the baseline. It prints
 * requests/s, p50/p99 and the latency added over the direct path, Redis calls per request
 * (`INFO commandstats` deltas on a redis-server of its own), CPU per request of the gateways and
 * of Redis, and the ledger's rows/s into PostgreSQL (during the traffic, and in a dedicated
 * insert phase). Every process runs on 127.0.0.1 and is stopped by its PID; the database is its
 * own and dropped at the end.
 *
 * `npm run build && node --import tsx bench/replicas.ts` (flags: --measure-ms N, --warmup-ms N,
 * --concurrency N, --rate N, --rounds N, --insert-rows N, --redis-timeout-ms N, --json FILE).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { picoToDecimal } from '../src/money/money.js';
import {
  runPhase,
  startGateway,
  startHelper,
  stopChild,
  type BenchChild,
  type GatewayChild,
} from './lib/children.js';
import { benchRoutingYaml, GATEWAY_UPSTREAM } from './lib/gateway-setup.js';
import { insertPhase } from './lib/ledger-insert.js';
import { CHAT_PATH } from './lib/payloads.js';
import { cpuMicros, CPU_RESOLUTION_MICROS, machineCpuMicros, memoryMiB } from './lib/proc.js';
import {
  renderReplicaReport,
  type PhaseFigures,
  type ReplicaReport,
  type TargetId,
} from './lib/replica-report.js';
import {
  callsBetween,
  closeBenchRedis,
  commandCalls,
  commandsInsideScripts,
  createBenchDatabase,
  backendCpuBetween,
  ledgerRowCount,
  postgresBackendCpu,
  rowsLanded,
  startBenchRedis,
  type BenchDatabase,
  type BenchRedis,
} from './lib/replica-stores.js';
import { probe } from './lib/sanity.js';

const { values: flags } = parseArgs({
  options: {
    'measure-ms': { type: 'string', default: '5000' },
    'warmup-ms': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '500' },
    'insert-rows': { type: 'string', default: '50000' },
    'redis-timeout-ms': { type: 'string' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});

const settings = {
  measureMs: Number(flags['measure-ms']),
  warmupMs: Number(flags['warmup-ms']),
  concurrency: Number(flags.concurrency),
  rate: Number(flags.rate),
  insertRows: Number(flags['insert-rows']),
  rounds: Number(flags.rounds),
};

// Time for deferred work (commits after the answer, ledger batches every 50 ms) to land inside
// the phase it belongs to before counters are read again.
const SETTLE_MS = 150;
const ADMIN_ENV = 'SPENDGATE_BENCH_ADMIN_TOKEN';
const INSIDE_SCRIPTS = commandsInsideScripts();

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Each replica's config: Redis counters under one prefix, one ledger database, one budget. */
function writeReplicaConfig(dir: string, upstream: string, redisUrl: string, dbUrl: string) {
  const file = join(dir, 'spendgate.yaml');
  writeFileSync(
    file,
    `# Written by bench/replicas.ts for one run.
listen: { host: 127.0.0.1, port: 0 }
admin:
  tokens:
    - { name: bench, token_env: ${ADMIN_ENV} }
storage:
  ledger: "${dbUrl}"
  counters: "${redisUrl}"
  on_store_down: fail_open
${benchRoutingYaml(upstream)}# One budget and one token limit apply to every request, so each reserve and each commit is
# one script over a budget instance and a bucket; neither is ever reached.
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 1000000, period: 1d }
rate_limits:
  - { name: org-tpm, scope: { org: "*" }, tokens_per_minute: 1000000000 }
`,
  );
  return file;
}

type Run = {
  loadgens: BenchChild[];
  upstream: BenchChild;
  redis: BenchRedis;
  db: BenchDatabase;
  gateways: GatewayChild[];
  /** Requests sent to gateways so far: every one is a ledger row. */
  gatewayRequests: number;
  nextId: number;
};

/**
 * One timed phase on a target: warm-up, then the measured part, with the load split evenly over
 * both load generators (each to its own origin) and every counter read around it.
 */
async function measure(
  run: Run,
  target: TargetId,
  origins: [string, string],
  path: string,
  mode: 'closed' | 'open',
): Promise<Omit<PhaseFigures, 'round'>> {
  const split = {
    concurrency: Math.max(1, Math.round(settings.concurrency / 2)),
    rate: settings.rate / 2,
  };
  const phase = (i: number, durationMs: number) =>
    runPhase(run.loadgens[i]!, {
      id: (run.nextId += 1),
      origin: origins[i]!,
      path,
      shape: 'chat' as const,
      mode,
      durationMs,
      ...split,
    });
  const viaGateway = target !== 'A';

  const warm = await Promise.all([phase(0, settings.warmupMs), phase(1, settings.warmupMs)]);
  for (const w of warm) if (w.failed > 0) throw new Error(`warm-up failed: ${w.firstError}`);
  if (viaGateway) run.gatewayRequests += warm[0]!.sent + warm[1]!.sent;
  if (viaGateway) await rowsLanded(run.db, run.gatewayRequests);
  await sleep(SETTLE_MS);

  const pids = {
    gateways: run.gateways.map((g) => g.pid),
    redis: run.redis.pid,
    upstream: run.upstream.pid,
  };
  const cpu = () => ({
    gateways: pids.gateways.reduce((sum, pid) => sum + cpuMicros(pid), 0),
    redis: cpuMicros(pids.redis),
    upstream: cpuMicros(pids.upstream),
    loadgens: run.loadgens.reduce((sum, l) => sum + cpuMicros(l.pid), 0),
    bench: cpuMicros(process.pid),
  });
  const backendsBefore = await postgresBackendCpu(run.db);
  const cpuBefore = cpu();
  const machineBefore = machineCpuMicros();
  const callsBefore = await commandCalls(run.redis);
  const t0 = performance.now();
  const results = await Promise.all([phase(0, settings.measureMs), phase(1, settings.measureMs)]);
  const phaseMs = performance.now() - t0;
  const sent = results[0]!.sent + results[1]!.sent;
  const ok = results[0]!.ok + results[1]!.ok;
  // From the last answer until the phase's last row is committed in PostgreSQL.
  let lagMs = 0;
  if (viaGateway) {
    run.gatewayRequests += sent;
    lagMs = await rowsLanded(run.db, run.gatewayRequests);
  }
  await sleep(Math.max(0, SETTLE_MS - lagMs));
  const windowMs = performance.now() - t0;
  const calls = callsBetween(callsBefore, await commandCalls(run.redis));
  const cpuAfter = cpu();
  const machineAfter = machineCpuMicros();
  const postgresMicros = backendCpuBetween(backendsBefore, await postgresBackendCpu(run.db));

  const per = (key: keyof typeof cpuBefore): number =>
    (cpuAfter[key] - cpuBefore[key]) / Math.max(1, ok);
  const ours = (Object.keys(cpuBefore) as (keyof typeof cpuBefore)[]).reduce(
    (sum, key) => sum + cpuAfter[key] - cpuBefore[key],
    postgresMicros,
  );
  const wallMicros = windowMs * 1000;
  return {
    target,
    mode,
    clients: results,
    sent,
    ok,
    failed: results[0]!.failed + results[1]!.failed,
    firstError: results[0]!.firstError ?? results[1]!.firstError,
    requestsPerSec: (ok * 1000) / phaseMs,
    cpuPerRequest: {
      gateways: per('gateways'),
      redis: per('redis'),
      upstream: per('upstream'),
      loadgens: per('loadgens'),
      postgres: postgresMicros / Math.max(1, ok),
    },
    roundTrips: calls.filter(([name]) => !INSIDE_SCRIPTS.has(name)),
    insideScripts: calls.filter(([name]) => INSIDE_SCRIPTS.has(name)),
    ledgerRowsPerSec: viaGateway ? (sent * 1000) / (phaseMs + lagMs) : 0,
    ledgerLagMs: lagMs,
    // PostgreSQL's own background processes (WAL writer, checkpointer) are counted here.
    foreignCores: Math.max(0, machineAfter.busy - machineBefore.busy - ours) / wallMicros,
  };
}

/** Both replicas' `org-daily` spend as `GET /api/v1/budgets` reports it, and the ledger's. */
async function spendAgreement(run: Run): Promise<string[]> {
  const lines: string[] = [];
  const { rows } = await run.db.client.query<{ pico: string }>(
    "SELECT COALESCE(SUM(cost_pico), 0) AS pico FROM spendgate_requests WHERE org = 'acme'",
  );
  lines.push(`ledger: ${picoToDecimal(BigInt(rows[0]?.pico ?? 0))} USD for org acme`);
  for (const [i, gateway] of run.gateways.entries()) {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/api/v1/budgets`, {
      headers: { authorization: `Bearer ${process.env[ADMIN_ENV]}` },
    });
    const text = await res.text();
    const spent = /"spent_usd":([0-9.e+-]+),"reserved_usd":([0-9.e+-]+)/.exec(text);
    lines.push(
      `replica ${i + 1} GET /api/v1/budgets: spent_usd ${spent?.[1] ?? '?'}, reserved_usd ${spent?.[2] ?? '?'}`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  process.env[ADMIN_ENV] = randomBytes(18).toString('base64url');
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'spendgate-bench-replica-')));
  const started: BenchChild[] = [];
  let redis: BenchRedis | undefined;
  let db: BenchDatabase | undefined;

  try {
    redis = await startBenchRedis();
    started.push(redis);
    db = await createBenchDatabase();
    const upstream = await startHelper('upstream', 'upstream.ts');
    started.push(upstream);
    const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
    const prefix = `sgbench:${randomBytes(4).toString('hex')}:`;
    // Without the flag, the gateway's default deadline per Redis call (50 ms), as users run it.
    const timeout = flags['redis-timeout-ms'] ? `&timeout_ms=${flags['redis-timeout-ms']}` : '';
    const redisUrl = `redis://127.0.0.1:${redis.port}/0?prefix=${prefix}${timeout}`;
    const configs = dirs.map((dir) => writeReplicaConfig(dir, upstreamOrigin, redisUrl, db!.url));
    const loadgens = [
      await startHelper('loadgen-1', 'loadgen.ts'),
      await startHelper('loadgen-2', 'loadgen.ts'),
    ];
    started.push(...loadgens);
    // Both from the start: R1 sends to the first only, and an idle replica costs next to nothing.
    const [first, second] = await Promise.all(configs.map((file) => startGateway(file, [])));
    started.push(first!, second!);
    const run: Run = {
      loadgens,
      upstream,
      redis,
      db,
      gateways: [first!, second!],
      gatewayRequests: 0,
      nextId: 0,
    };

    const gatewayPath = `/${GATEWAY_UPSTREAM}${CHAT_PATH}`;
    const seen = await probe(`http://127.0.0.1:${first!.port}`, gatewayPath, 'chat');
    if (seen.status !== 200) throw new Error(`replica 1 answered ${seen.status} to a probe`);
    run.gatewayRequests += 1;
    const notes = [`Probe via replica 1: 200, x-spendgate-cost-usd ${seen.costHeader}.`];

    const phases: PhaseFigures[] = [];
    const origin = (child: GatewayChild): string => `http://127.0.0.1:${child.port}`;
    const targets: Record<TargetId, [string, string]> = {
      A: [upstreamOrigin, upstreamOrigin],
      R1: [origin(first!), origin(first!)],
      R2: [origin(first!), origin(second!)],
    };
    // Rounds take the targets in turn, so noise from other work on the machine falls on all
    // of them alike; the report gives medians over the rounds.
    for (let round = 1; round <= settings.rounds; round += 1) {
      for (const target of ['A', 'R1', 'R2'] as TargetId[]) {
        for (const mode of ['closed', 'open'] as const) {
          out(`… round ${round}: ${target} ${mode === 'closed' ? 'saturation' : 'fixed rate'}`);
          const path = target === 'A' ? CHAT_PATH : gatewayPath;
          phases.push({ ...(await measure(run, target, targets[target], path, mode)), round });
        }
      }
    }

    notes.push(...(await spendAgreement(run)));
    const peakRssMiB = run.gateways.map((g) => memoryMiB(g.pid, 'VmHWM'));
    const problems = run.gateways.flatMap((g, i) =>
      g.problems.map((p) => `replica ${i + 1}: ${p}`),
    );
    for (const gateway of run.gateways) await stopChild(gateway);
    const rowsAtStop = await ledgerRowCount(db);
    notes.push(
      `Ledger after the stops: ${rowsAtStop} rows for ${run.gatewayRequests} requests sent to the replicas.`,
      problems.length
        ? `Replica warnings/errors: ${problems.join(' | ')}`
        : 'Replica logs: no warnings or errors.',
      `CPU figures have a resolution of ${CPU_RESOLUTION_MICROS / 1000} ms per process and phase.`,
    );

    out(`… insert phase: ${settings.insertRows} rows, then 2 × ${settings.insertRows / 2}`);
    const inserts = [
      await insertPhase(db.url, settings.insertRows, 1),
      await insertPhase(db.url, settings.insertRows / 2, 2),
    ];

    const report: ReplicaReport = {
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown CPU',
        cores: cpus().length,
        node: process.version,
        date: new Date().toISOString(),
        kernel: release(),
      },
      settings,
      phases,
      peakRssMiB,
      inserts,
      notes,
    };
    out('');
    out(renderReplicaReport(report));
    if (flags.json) writeFileSync(flags.json, JSON.stringify(report, null, 2));
  } finally {
    if (redis) closeBenchRedis(redis);
    for (const child of started.reverse()) await stopChild(child);
    await db?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
