/**
 * The decision-service bench: `POST /v1/decision` calls as nginx sends them (headers and hints,
 * no body) against (A) a plain node:http server that answers 204, (B) a gateway with one budget
 * applying and (C) a gateway with five rules applying (four budgets and a rate limit), then
 * (D) each of B's decisions followed by its usage report. Requests per second at saturation,
 * p50/p99 at a fixed rate, and the CPU each process spent per call, read from /proc. Every
 * process runs on its own on 127.0.0.1 and is stopped by its PID. Run with
 * `npm run build && node --import tsx bench/decision.ts` (flags: --measure-ms N, --warmup-ms N,
 * --concurrency N, --rate N, --rounds N, --profile).
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { rankProfile } from './lib/cpu-profile.js';
import {
  runPhase,
  startGateway,
  startHelper,
  stopChild,
  type BenchChild,
  type GatewayChild,
} from './lib/children.js';
import type { CustomRequest, PhaseResult } from './lib/loadgen.js';
import { cpuMicros, CPU_RESOLUTION_MICROS, machineCpuMicros, memoryMiB } from './lib/proc.js';
import { fixed, markdownTable, median, overRounds, withRange } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    'measure-ms': { type: 'string', default: '3000' },
    'warmup-ms': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
  },
});

const settings = {
  measureMs: Number(flags['measure-ms']),
  warmupMs: Number(flags['warmup-ms']),
  concurrency: Number(flags.concurrency),
  rate: Number(flags.rate),
  rounds: Number(flags.rounds),
};

/** CPU per decision with one budget, in microseconds. */
const CPU_TARGET_MICROS = 60;

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

// Time for deferred work (ledger batches, settles) to land in its phase before CPU is read.
const SETTLE_MS = 150;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What nginx's auth_request subrequest carries, with the shipped config's hints. */
const DECISION: CustomRequest = {
  method: 'POST',
  headers: {
    'x-original-uri': '/bench/v1/chat/completions',
    'x-original-method': 'POST',
    'x-spendgate-reject-status': '403',
    authorization: 'Bearer sk-bench-client-key-0000000000000000',
    'x-org-id': 'acme',
    'x-team-id': 'search',
    'x-user-id': 'u-1017',
    'x-app': 'bench',
    'x-spendgate-model': 'gpt-4o',
    'x-spendgate-estimate-tokens': '1200',
    'x-spendgate-max-output-tokens': '300',
  },
  body: null,
  okStatus: 200,
};

const WITH_USAGE: CustomRequest = {
  ...DECISION,
  followUp: {
    path: '/v1/usage',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: '{request_id}',
      model: 'gpt-4o-2024-08-06',
      usage: {
        prompt_tokens: 1187,
        completion_tokens: 212,
        total_tokens: 1399,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      },
    }),
    okStatus: 200,
  },
};

const ONE_BUDGET = `
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 100000000, period: 1d }
`;

const FIVE_RULES = `
budgets:
  - { name: org-daily, scope: { org: "*" }, limit_usd: 100000000, period: 1d,
      actions: [{ at: 80, do: warn }, { at: 100, do: reject }] }
  - { name: team-monthly, scope: { team: "*" }, limit_usd: 100000000, period: month }
  - { name: user-hourly, scope: { user: "*" }, limit_usd: 100000000, period: 1h }
  - { name: model-7d, scope: { model: "*" }, limit_usd: 100000000, period: 7d }
rate_limits:
  - { name: org-tpm, scope: { org: "*" }, tokens_per_minute: 1000000000000, requests_per_minute: 1000000000 }
`;

function writeConfig(dir: string, name: string, rules: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `# Written by bench/decision.ts for one run.
listen: { host: 127.0.0.1, port: 0 }
storage: { ledger: "sqlite:${join(dir, `${name}.db`)}" }
admin: { tokens: [{ name: bench, token_env: SPENDGATE_BENCH_ADMIN_TOKEN }] }
upstreams:
  bench: { format: openai, base_url: "http://127.0.0.1:9" }
identity: { require_credential: false }
attribution:
  org: [header:x-org-id, unattributed]
  team: [header:x-team-id, unattributed]
  user: [header:x-user-id, unattributed]
  endpoint: [header:x-endpoint, path]
  tags: { app: [header:x-app] }
pricing:
  models:
    gpt-4o: { input_per_mtok: 2.50, output_per_mtok: 10.00, cached_input_per_mtok: 1.25 }
${rules}`,
  );
  return file;
}

type Kind = 'A' | 'B' | 'C' | 'D';

/** What each target is: its label, the gateway rules it runs (none: the plain server), its call. */
const KINDS: { kind: Kind; label: string; rules: string | null; request: CustomRequest }[] = [
  {
    kind: 'A',
    label: 'A plain node:http 204',
    rules: null,
    request: { ...DECISION, okStatus: 204 },
  },
  { kind: 'B', label: 'B decision, 1 budget', rules: ONE_BUDGET, request: DECISION },
  { kind: 'C', label: 'C decision, 5 rules', rules: FIVE_RULES, request: DECISION },
  {
    kind: 'D',
    label: 'D decision + usage report, 1 budget',
    rules: ONE_BUDGET,
    request: WITH_USAGE,
  },
];

type Sample = {
  rps: number;
  p50: number;
  p99: number;
  cpuSat: number;
  cpuRate: number;
  rssMiB: number;
};

type Measured = { result: PhaseResult; cpuPerCall: number; foreignCores: number; sent: number };

/** One timed phase: the target's CPU per successful call, and the phase's summary. */
async function measure(
  loadgen: BenchChild,
  target: { pid: number; port: number; request: CustomRequest; label: string },
  mode: 'closed' | 'open',
  nextId: () => number,
): Promise<Measured> {
  const phase = {
    origin: `http://127.0.0.1:${target.port}`,
    path: '/v1/decision',
    shape: 'chat' as const,
    mode,
    concurrency: settings.concurrency,
    rate: settings.rate,
    request: target.request,
  };
  const warm = await runPhase(loadgen, { ...phase, id: nextId(), durationMs: settings.warmupMs });
  if (warm.failed > 0) throw new Error(`${target.label}: warm-up failed: ${warm.firstError}`);
  await sleep(SETTLE_MS);

  const before = cpuMicros(target.pid);
  const ours = cpuMicros(loadgen.pid) + cpuMicros(process.pid);
  const machineBefore = machineCpuMicros();
  const t0 = performance.now();
  const result = await runPhase(loadgen, {
    ...phase,
    id: nextId(),
    durationMs: settings.measureMs,
  });
  await sleep(SETTLE_MS);
  const spent = cpuMicros(target.pid) - before;
  const oursSpent = cpuMicros(loadgen.pid) + cpuMicros(process.pid) - ours;
  const wallMicros = (performance.now() - t0) * 1000;
  const machine = machineCpuMicros().busy - machineBefore.busy;
  if (result.failed > 0) {
    throw new Error(`${target.label}: ${result.failed} failed: ${result.firstError}`);
  }
  return {
    result,
    cpuPerCall: spent / Math.max(1, result.ok),
    foreignCores: Math.max(0, machine - spent - oursSpent) / wallMicros,
    sent: warm.sent + result.sent,
  };
}

/** Rows in a gateway's ledger once it has stopped, and how many were never reported. */
function ledgerCounts(file: string): { rows: number; unreported: number } {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT COUNT(*) AS rows, COALESCE(SUM(flags LIKE '%usage_unreported%'), 0) AS unreported
         FROM requests`,
      )
      .get() as { rows: number; unreported: number };
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-decision-bench-'));
  const started: BenchChild[] = [];
  let id = 0;
  const nextId = (): number => (id += 1);
  process.env.SPENDGATE_BENCH_ADMIN_TOKEN = ADMIN_TOKEN;
  const samples: Record<Kind, Sample[]> = { A: [], B: [], C: [], D: [] };
  const notes = { foreign: 0, ledgerOk: true, rows: 0, sent: 0, slowestStopMs: 0 };
  const problems: string[] = [];

  try {
    const plain = await startHelper('plain', 'no-content.ts');
    started.push(plain);
    const loadgen = await startHelper('loadgen', 'loadgen.ts');
    started.push(loadgen);

    for (let round = 1; round <= settings.rounds; round++) {
      for (const { kind, label, rules, request } of KINDS) {
        out(`… round ${round}/${settings.rounds}: ${label}`);
        // A fresh gateway per phase pair: decisions never reported pile up in a long-lived
        // one, and the next phase would measure its garbage collector.
        const name = `${kind}${round}`;
        const profiled = flags.profile && kind === 'B' && round === 1;
        const gateway: GatewayChild | null =
          rules === null
            ? null
            : await startGateway(
                writeConfig(dir, name, rules),
                profiled ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] : [],
              );
        if (gateway) started.push(gateway);
        const target = {
          pid: gateway?.pid ?? plain.pid,
          port: gateway?.port ?? plain.port,
          request,
          label,
        };
        const sat = await measure(loadgen, target, 'closed', nextId);
        const rate = await measure(loadgen, target, 'open', nextId);
        notes.foreign = Math.max(notes.foreign, sat.foreignCores, rate.foreignCores);
        samples[kind].push({
          rps: sat.result.requestsPerSec,
          p50: rate.result.latency.p50,
          p99: rate.result.latency.p99,
          cpuSat: sat.cpuPerCall,
          cpuRate: rate.cpuPerCall,
          rssMiB: memoryMiB(target.pid, 'VmHWM'),
        });
        if (gateway) {
          problems.push(...gateway.problems);
          const stopAt = performance.now();
          await stopChild(gateway);
          notes.slowestStopMs = Math.max(notes.slowestStopMs, performance.now() - stopAt);
          started.splice(started.indexOf(gateway), 1);
          const { rows } = ledgerCounts(join(dir, `${name}.db`));
          notes.rows += rows;
          notes.sent += sat.sent + rate.sent;
          if (rows !== sat.sent + rate.sent) notes.ledgerOk = false;
        }
      }
    }

    report(samples, notes, problems);
    if (flags.profile) printProfile(join(dir, 'profile'));
  } finally {
    for (const child of started.reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(
  samples: Record<Kind, Sample[]>,
  notes: {
    foreign: number;
    ledgerOk: boolean;
    rows: number;
    sent: number;
    slowestStopMs: number;
  },
  problems: string[],
): void {
  const { concurrency, rate, rounds } = settings;
  const machine =
    `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ` +
    `Linux ${release()}, ${new Date().toISOString()}`;
  const m = (kind: Kind, key: keyof Sample): number => median(samples[kind].map((s) => s[key]));
  const ranged = (kind: Kind, key: keyof Sample): string =>
    withRange(overRounds(samples[kind].map((s) => s[key])), 1);
  out('');
  out(`Machine: ${machine}.`);
  out(
    `${rounds} rounds; in each, every target gets a ${settings.measureMs / 1000} s saturation phase ` +
      `(${concurrency} connections, closed loop) and a ${settings.measureMs / 1000} s phase at ` +
      `${rate} calls/s (open loop), each after ${settings.warmupMs / 1000} s of warm-up, each ` +
      `gateway fresh. Medians over the rounds; CPU per call is the target process's ` +
      `utime+stime from /proc divided by the calls answered.`,
  );
  out('');
  out(
    markdownTable(
      [
        'target',
        `calls/s @${concurrency}`,
        `p50 ms @${rate}/s`,
        `p99 ms @${rate}/s`,
        `CPU µs/call @${concurrency} (range)`,
        `CPU µs/call @${rate}/s (range)`,
        'peak RSS MiB',
      ],
      KINDS.map(({ kind, label }) => [
        label,
        fixed(m(kind, 'rps'), 0),
        fixed(m(kind, 'p50'), 3),
        fixed(m(kind, 'p99'), 3),
        ranged(kind, 'cpuSat'),
        ranged(kind, 'cpuRate'),
        fixed(Math.max(...samples[kind].map((s) => s.rssMiB)), 0),
      ]),
    ),
  );
  const met = (v: number): string => (v <= CPU_TARGET_MICROS ? 'met' : '**missed**');
  const [bSat, bRate] = [m('B', 'cpuSat'), m('B', 'cpuRate')];
  const [aSat, aRate] = [m('A', 'cpuSat'), m('A', 'cpuRate')];
  out('');
  out(
    `Target ≤ ${CPU_TARGET_MICROS} µs of gateway CPU per decision with one budget: ` +
      `${fixed(bSat, 1)} µs @${concurrency} (${met(bSat)}), ${fixed(bRate, 1)} µs @${rate}/s ` +
      `(${met(bRate)}). Above the plain server: +${fixed(bSat - aSat, 1)} µs @${concurrency}, ` +
      `+${fixed(bRate - aRate, 1)} µs @${rate}/s.`,
  );
  out(
    `D counts a decision and its usage report (which writes the row) as one call. B and C ` +
      `rows are written at shutdown, released as usage_unreported, outside the timed phases ` +
      `(slowest stop ${fixed(notes.slowestStopMs / 1000, 1)} s). Ledger rows after the stops: ` +
      `${notes.rows} for ${notes.sent} decisions sent (${notes.ledgerOk ? 'one each' : '**MISMATCH**'}).`,
  );
  out(
    `CPU figures have a resolution of ${CPU_RESOLUTION_MICROS / 1000} ms per phase; at most ` +
      `${fixed(notes.foreign, 2)} cores went to processes outside the bench in any phase.` +
      (problems.length ? ` Gateway warnings: ${problems.slice(0, 5).join(' | ')}` : ''),
  );
}

function printProfile(dir: string): void {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) {
    out('\nNo .cpuprofile was written by the gateway.');
    return;
  }
  const kept = join(tmpdir(), `spendgate-decision-${Date.now()}.cpuprofile`);
  copyFileSync(join(dir, file), kept);
  const { functions, modules } = rankProfile(kept, 20);
  const line = (h: { name: string; selfMs: number; share: number }): string =>
    `  ${`${(h.share * 100).toFixed(1)}%`.padStart(6)}  ${h.selfMs.toFixed(0).padStart(6)} ms  ${h.name}`;
  out('\n### Gateway CPU profile (B, first round): top self time\n');
  out('```');
  functions.forEach((h) => out(line(h)));
  out('');
  out('by module:');
  modules.forEach((h) => out(line(h)));
  out('```');
  out(`Profile kept at ${kept}.`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
