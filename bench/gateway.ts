/**
 * The gateway bench: the same load, in one run, (A) straight to a local upstream, (B) through a
 * minimal node:http proxy and (C) through Spendgate with pricing and a SQLite ledger, for a
 * non-streamed and a streamed chat completion. Every process runs on its own, on 127.0.0.1,
 * and is stopped by its PID at the end. Run with `npm run bench` (flags: --measure-ms N,
 * --warmup-ms N, --concurrency N, --rate N, --rounds N, --profile, --json FILE).
 *
 * On a shared machine one phase per path is too noisy to compare B with C, so the run has
 * rounds (3 by default): each round runs A, B and C back to back for each shape and load, and
 * the report gives medians over the rounds, with C/B and C−A taken within each round. The
 * timed phases are 4 s by default (6 s before there were rounds) to keep a default run near
 * 3½ minutes. The processes, the gateway included, live for the whole run: its peak RSS over
 * all the rounds is one of the targets.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rankProfile } from './lib/cpu-profile.js';
import {
  runPhase,
  startGateway,
  startHelper,
  stopChild,
  type BenchChild,
  type GatewayChild,
} from './lib/children.js';
import { checkLedger, GATEWAY_UPSTREAM, writeGatewayConfig } from './lib/gateway-setup.js';
import type { PhaseRequest } from './lib/loadgen.js';
import { CHAT_PATH } from './lib/payloads.js';
import { cpuMicros, CPU_RESOLUTION_MICROS, machineCpuMicros, memoryMiB } from './lib/proc.js';
import {
  renderReport,
  type Measured,
  type PathId,
  type ProcName,
  type RoundPhases,
  type RunReport,
  runMedians,
  type Shape,
} from './lib/report.js';
import { probe } from './lib/sanity.js';

const { values: flags } = parseArgs({
  options: {
    'measure-ms': { type: 'string', default: '4000' },
    'warmup-ms': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

const settings = {
  measureMs: Number(flags['measure-ms']),
  warmupMs: Number(flags['warmup-ms']),
  concurrency: Number(flags.concurrency),
  rate: Number(flags.rate),
  rounds: Number(flags.rounds),
};

// Time for the gateway's deferred work (ledger batches flush every 50 ms) to land inside the
// phase it belongs to before CPU is read again.
const SETTLE_MS = 150;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Processes = Record<ProcName, BenchChild>;

/** Where each path sends its requests. */
type Routes = { origins: Record<PathId, string>; paths: Record<PathId, string> };

async function measure(
  procs: Processes,
  phase: Omit<PhaseRequest, 'id' | 'durationMs'>,
  nextId: () => number,
): Promise<{ measured: Measured; sent: number }> {
  const warm = await runPhase(procs.loadgen, {
    ...phase,
    id: nextId(),
    durationMs: settings.warmupMs,
  });
  if (warm.failed > 0) throw new Error(`warm-up failed ${warm.failed} times: ${warm.firstError}`);
  await sleep(SETTLE_MS);

  const names = Object.keys(procs) as ProcName[];
  const ours = (): number[] => [
    ...names.map((n) => cpuMicros(procs[n].pid)),
    cpuMicros(process.pid),
  ];
  const before = ours();
  const machineBefore = machineCpuMicros();
  const t0 = performance.now();
  const result = await runPhase(procs.loadgen, {
    ...phase,
    id: nextId(),
    durationMs: settings.measureMs,
  });
  await sleep(SETTLE_MS);
  const after = ours();
  const machineAfter = machineCpuMicros();
  const wallMicros = (performance.now() - t0) * 1000;

  const cpuPerRequest = {} as Record<ProcName, number>;
  names.forEach((n, i) => {
    cpuPerRequest[n] = ((after[i] ?? 0) - (before[i] ?? 0)) / Math.max(1, result.ok);
  });
  const oursMicros = after.reduce((sum, v, i) => sum + v - (before[i] ?? 0), 0);
  const foreignCores =
    Math.max(0, machineAfter.busy - machineBefore.busy - oursMicros) / wallMicros;
  const stealCores = (machineAfter.steal - machineBefore.steal) / wallMicros;
  return {
    measured: { result, cpuPerRequest, foreignCores, stealCores },
    sent: warm.sent + result.sent,
  };
}

/**
 * One round: for each shape and load, A, B and C back to back, so that the B and C phases a
 * ratio compares ran seconds apart, under the same conditions on the machine.
 */
async function measureRound(
  procs: Processes,
  routes: Routes,
  round: number,
  nextId: () => number,
): Promise<{ phases: RoundPhases; gatewaySent: number }> {
  const phases = {} as RoundPhases;
  let gatewaySent = 0;
  for (const shape of ['chat', 'stream'] as Shape[]) {
    const byPath = {} as RoundPhases[Shape];
    for (const mode of ['closed', 'open'] as const) {
      for (const path of ['A', 'B', 'C'] as PathId[]) {
        const load = mode === 'closed' ? 'saturation' : 'fixed rate';
        out(`… round ${round}/${settings.rounds}: ${shape} ${load} via ${path}`);
        const { measured, sent } = await measure(
          procs,
          {
            origin: routes.origins[path],
            path: routes.paths[path],
            shape,
            mode,
            ...settings,
          },
          nextId,
        );
        if (path === 'C') gatewaySent += sent;
        const slot = (byPath[path] ??= {} as { sat: Measured; rate: Measured });
        slot[mode === 'closed' ? 'sat' : 'rate'] = measured;
      }
    }
    phases[shape] = byPath;
  }
  return { phases, gatewaySent };
}

async function probeAll({ origins, paths }: Routes): Promise<string[]> {
  const notes: string[] = [];
  for (const shape of ['chat', 'stream'] as Shape[]) {
    const direct = await probe(origins.A, paths.A, shape);
    for (const path of ['B', 'C'] as PathId[]) {
      const seen = await probe(origins[path], paths[path], shape);
      if (seen.status !== 200) {
        const text = seen.body.toString().slice(0, 300);
        throw new Error(`path ${path} answered ${seen.status} to a ${shape} probe: ${text}`);
      }
      const same = seen.body.equals(direct.body) ? 'same bytes as A' : 'bytes DIFFER from A';
      const cost = seen.costHeader ? `, x-spendgate-cost-usd ${seen.costHeader}` : '';
      notes.push(`Probe ${shape} via ${path}: ${seen.bytes} bytes, ${same}${cost}.`);
    }
  }
  return notes;
}

async function main(): Promise<void> {
  if (!Number.isInteger(settings.rounds) || settings.rounds < 1) {
    throw new Error(`--rounds must be a whole number from 1, not ${flags.rounds}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-bench-'));
  const started: BenchChild[] = [];
  let gateway: GatewayChild | undefined;
  let id = 0;
  const nextId = (): number => (id += 1);

  try {
    const upstream = await startHelper('upstream', 'upstream.ts');
    started.push(upstream);
    const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
    const proxy = await startHelper('proxy', 'proxy.ts', [upstreamOrigin]);
    started.push(proxy);
    const profileFlags = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
    gateway = await startGateway(writeGatewayConfig(dir, upstreamOrigin), profileFlags);
    started.push(gateway);
    const loadgen = await startHelper('loadgen', 'loadgen.ts');
    started.push(loadgen);
    const procs: Processes = { upstream, proxy, gateway, loadgen };

    const routes: Routes = {
      origins: {
        A: upstreamOrigin,
        B: `http://127.0.0.1:${proxy.port}`,
        C: `http://127.0.0.1:${gateway.port}`,
      },
      paths: { A: CHAT_PATH, B: CHAT_PATH, C: `/${GATEWAY_UPSTREAM}${CHAT_PATH}` },
    };
    const notes = await probeAll(routes);
    // The two probes sent to C count as gateway requests in the ledger too.
    let gatewayRequests = 2;

    const rounds: RoundPhases[] = [];
    const gatewayPeakRssByRoundMiB: number[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const { phases, gatewaySent } = await measureRound(procs, routes, round, nextId);
      rounds.push(phases);
      gatewayRequests += gatewaySent;
      gatewayPeakRssByRoundMiB.push(memoryMiB(gateway.pid, 'VmHWM'));
    }

    const gatewayPeakRssMiB = memoryMiB(gateway.pid, 'VmHWM');
    const gatewayEndRssMiB = memoryMiB(gateway.pid, 'VmRSS');
    const logLines = gateway.logLines();
    const problems = gateway.problems;
    await stopChild(gateway);

    const ledger = checkLedger(dir);
    notes.push(
      `Gateway log: ${logLines} lines over the run` +
        (problems.length
          ? `; warnings/errors: ${problems.join(' | ')}`
          : ', no warnings or errors.'),
      `CPU figures have a resolution of ${CPU_RESOLUTION_MICROS / 1000} ms per process and phase.`,
    );
    const report: RunReport = {
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown CPU',
        cores: cpus().length,
        node: process.version,
        date: new Date().toISOString(),
        kernel: release(),
      },
      settings,
      rounds,
      gatewayPeakRssByRoundMiB,
      gatewayPeakRssMiB,
      gatewayEndRssMiB,
      gatewayRequests,
      ledger,
      notes,
    };
    out('');
    out(renderReport(report));
    // The raw figures of every round, and the medians and ranges the tables were made from.
    if (flags.json) {
      const json = { ...report, medians: runMedians(report) };
      writeFileSync(flags.json, JSON.stringify(json, null, 2));
    }
    if (flags.profile) printProfile(dir);
  } finally {
    for (const child of started.reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function printProfile(dir: string): void {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) {
    out('\nNo .cpuprofile was written by the gateway.');
    return;
  }
  const kept = join(tmpdir(), `spendgate-gateway-${Date.now()}.cpuprofile`);
  copyFileSync(join(dir, file), kept);
  const { functions, modules } = rankProfile(kept, 15);
  const line = (h: { name: string; selfMs: number; share: number }): string => {
    const share = `${(h.share * 100).toFixed(1)}%`.padStart(6);
    return `  ${share}  ${h.selfMs.toFixed(0).padStart(6)} ms  ${h.name}`;
  };
  out('\n### Gateway CPU profile: top self time (share of busy samples)\n');
  out('```');
  functions.forEach((h) => out(line(h)));
  out('');
  out('by module:');
  modules.forEach((h) => out(line(h)));
  out('```');
  out(`Profile kept at ${kept} (open it in Chrome DevTools or speedscope).`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
