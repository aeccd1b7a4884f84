/**
 * Turns one bench run into Markdown: the machine, throughput and latency per shape and path,
 * CPU per request per process, and whether each of the project's targets was met. A run has
 * several rounds; the tables show the median over the rounds, and the targets compare B and C
 * within each round before taking the median.
 */
import type { LedgerCheck } from './gateway-setup.js';
import type { PhaseResult } from './loadgen.js';
import { fixed, markdownTable, overRounds, signed, withRange, type OverRounds } from './stats.js';

/** The processes whose CPU is measured. */
export type ProcName = 'upstream' | 'proxy' | 'gateway' | 'loadgen';

/** A: straight to the upstream; B: through the minimal proxy; C: through the gateway. */
export type PathId = 'A' | 'B' | 'C';

/** The non-streamed and the streamed request shape. */
export type Shape = 'chat' | 'stream';

/** One timed phase: the load generator's summary and each process's CPU per request (µs). */
export type Measured = {
  result: PhaseResult;
  cpuPerRequest: Record<ProcName, number>;
  /** CPU used by processes outside the bench during the phase, in cores (0.1 = 10% of one). */
  foreignCores: number;
  /** CPU time the hypervisor stole during the phase, in cores. */
  stealCores: number;
};

/** One round: for each shape and path, its saturation and its fixed-rate phase. */
export type RoundPhases = Record<Shape, Record<PathId, { sat: Measured; rate: Measured }>>;

/** Everything a run measured, round by round. */
export type RunReport = {
  machine: { cpu: string; cores: number; node: string; date: string; kernel: string };
  settings: {
    measureMs: number;
    warmupMs: number;
    concurrency: number;
    rate: number;
    rounds: number;
  };
  rounds: RoundPhases[];
  /** The gateway's peak RSS (VmHWM) so far at the end of each round, in MiB. */
  gatewayPeakRssByRoundMiB: number[];
  gatewayPeakRssMiB: number;
  gatewayEndRssMiB: number;
  gatewayRequests: number;
  ledger: LedgerCheck | null;
  notes: string[];
};

/** One path's figures for one shape, each over the rounds. */
export type PathMedians = {
  requestsPerSec: OverRounds;
  p50Ms: OverRounds;
  p99Ms: OverRounds;
  /** Each round's p50 minus A's p50 in that round, at the fixed rate; null for A itself. */
  addedP50Ms: OverRounds | null;
  /** Failed requests over all rounds, both loads. */
  failed: number;
  cpuSat: Record<ProcName, OverRounds>;
  cpuRate: Record<ProcName, OverRounds>;
  foreignCoresSat: OverRounds;
  foreignCoresRate: OverRounds;
};

/** Gateway CPU per request over the proxy's, each round's C over the same round's B. */
export type CpuRatios = { sat: OverRounds; rate: OverRounds };

/** What the tables show: every figure over the rounds. */
export type RunMedians = {
  paths: Record<Shape, Record<PathId, PathMedians>>;
  cpuRatios: Record<Shape, CpuRatios>;
};

/** Gateway CPU per request at most this many times the minimal proxy's. */
export const CPU_RATIO_TARGET = 1.5;
/** Added p50 latency at the fixed rate, in milliseconds. */
export const ADDED_P50_TARGET_MS = 0.5;
/** Gateway peak resident memory, in MiB. */
export const RSS_TARGET_MIB = 200;

const SHAPES: Shape[] = ['chat', 'stream'];
const PATHS: PathId[] = ['A', 'B', 'C'];
const PROCS: ProcName[] = ['upstream', 'proxy', 'gateway', 'loadgen'];
const PATH_NAMES: Record<PathId, string> = { A: 'A direct', B: 'B minimal proxy', C: 'C gateway' };
const SHAPE_NAMES: Record<Shape, string> = { chat: '~1 KB chat', stream: '20-chunk stream' };
const MODE_NAMES = { sat: 'saturation', rate: 'fixed rate' } as const;

function relayOf(path: PathId): ProcName | null {
  return path === 'B' ? 'proxy' : path === 'C' ? 'gateway' : null;
}

function addedP50(round: RoundPhases, shape: Shape, path: PathId): number {
  const byPath = round[shape];
  return byPath[path].rate.result.latency.p50 - byPath.A.rate.result.latency.p50;
}

function cpuRatio(round: RoundPhases, shape: Shape, phase: 'sat' | 'rate'): number {
  const byPath = round[shape];
  return byPath.C[phase].cpuPerRequest.gateway / byPath.B[phase].cpuPerRequest.proxy;
}

function pathMedians(report: RunReport, shape: Shape, path: PathId): PathMedians {
  const over = (figure: (round: RoundPhases) => number): OverRounds =>
    overRounds(report.rounds.map(figure));
  const cpu = (phase: 'sat' | 'rate'): Record<ProcName, OverRounds> =>
    Object.fromEntries(
      PROCS.map((name) => [name, over((r) => r[shape][path][phase].cpuPerRequest[name])]),
    ) as Record<ProcName, OverRounds>;
  return {
    requestsPerSec: over((r) => r[shape][path].sat.result.requestsPerSec),
    p50Ms: over((r) => r[shape][path].rate.result.latency.p50),
    p99Ms: over((r) => r[shape][path].rate.result.latency.p99),
    addedP50Ms: path === 'A' ? null : over((r) => addedP50(r, shape, path)),
    failed: report.rounds.reduce(
      (sum, r) => sum + r[shape][path].sat.result.failed + r[shape][path].rate.result.failed,
      0,
    ),
    cpuSat: cpu('sat'),
    cpuRate: cpu('rate'),
    foreignCoresSat: over((r) => r[shape][path].sat.foreignCores),
    foreignCoresRate: over((r) => r[shape][path].rate.foreignCores),
  };
}

/** Every figure of the run over its rounds: what the tables show and `--json` writes. */
export function runMedians(report: RunReport): RunMedians {
  const paths = {} as RunMedians['paths'];
  const cpuRatios = {} as RunMedians['cpuRatios'];
  for (const shape of SHAPES) {
    paths[shape] = {} as Record<PathId, PathMedians>;
    for (const path of PATHS) paths[shape][path] = pathMedians(report, shape, path);
    cpuRatios[shape] = {
      sat: overRounds(report.rounds.map((r) => cpuRatio(r, shape, 'sat'))),
      rate: overRounds(report.rounds.map((r) => cpuRatio(r, shape, 'rate'))),
    };
  }
  return { paths, cpuRatios };
}

// With one round a range says nothing, so it is left out.
function ranged(report: RunReport, figure: OverRounds, decimals: number, unit = ''): string {
  return report.settings.rounds > 1
    ? withRange(figure, decimals, unit)
    : `${fixed(figure.median, decimals)}${unit}`;
}

// Signed figures show their own sign in the range too, e.g. `+0.435 ms (+0.311–+0.502)`.
function rangedSigned(report: RunReport, figure: OverRounds, decimals: number): string {
  const median = `${signed(figure.median, decimals)} ms`;
  if (report.settings.rounds <= 1) return median;
  return `${median} (${signed(figure.min, decimals)}–${signed(figure.max, decimals)})`;
}

function latencyTable(report: RunReport, medians: RunMedians): string {
  const { concurrency, rate } = report.settings;
  const header = [
    'shape',
    'path',
    `req/s @${concurrency} conns`,
    `p50 ms @${rate}/s`,
    `p99 ms @${rate}/s`,
    'added p50 vs A',
    'failed (all rounds)',
  ];
  const rows = SHAPES.flatMap((shape) =>
    PATHS.map((path) => {
      const m = medians.paths[shape][path];
      return [
        SHAPE_NAMES[shape],
        PATH_NAMES[path],
        fixed(m.requestsPerSec.median, 0),
        fixed(m.p50Ms.median, 3),
        fixed(m.p99Ms.median, 3),
        m.addedP50Ms ? `${signed(m.addedP50Ms.median, 3)} ms` : '—',
        String(m.failed),
      ];
    }),
  );
  return markdownTable(header, rows);
}

function cpuTable(report: RunReport, medians: RunMedians): string {
  const { concurrency, rate } = report.settings;
  const rangeNote = report.settings.rounds > 1 ? ' (range)' : '';
  const header = [
    'shape',
    'path',
    `upstream @${concurrency}`,
    `relay @${concurrency}${rangeNote}`,
    `upstream @${rate}/s`,
    `relay @${rate}/s${rangeNote}`,
    `load gen @${rate}/s`,
    `other cores @${concurrency} / @${rate}/s`,
  ];
  const rows = SHAPES.flatMap((shape) =>
    PATHS.map((path) => {
      const m = medians.paths[shape][path];
      const relay = relayOf(path);
      return [
        SHAPE_NAMES[shape],
        PATH_NAMES[path],
        fixed(m.cpuSat.upstream.median, 0),
        relay ? ranged(report, m.cpuSat[relay], 0) : '—',
        fixed(m.cpuRate.upstream.median, 0),
        relay ? ranged(report, m.cpuRate[relay], 0) : '—',
        fixed(m.cpuRate.loadgen.median, 0),
        `${fixed(m.foreignCoresSat.median, 2)} / ${fixed(m.foreignCoresRate.median, 2)}`,
      ];
    }),
  );
  return markdownTable(header, rows);
}

function verdict(met: boolean): string {
  return met ? 'met' : '**missed**';
}

// A target is judged on the median over the rounds, so that one noisy round neither meets nor
// misses it on its own; the range shows how far the rounds were apart.
function targetTable(report: RunReport, medians: RunMedians): string {
  const { concurrency, rate } = report.settings;
  const rows: string[][] = [];
  for (const shape of SHAPES) {
    const { sat, rate: open } = medians.cpuRatios[shape];
    rows.push([
      `gateway CPU/req ≤ ${CPU_RATIO_TARGET}× proxy, ${SHAPE_NAMES[shape]}`,
      `${ranged(report, sat, 2, '×')} @${concurrency}, ${ranged(report, open, 2, '×')} @${rate}/s`,
      verdict(sat.median <= CPU_RATIO_TARGET && open.median <= CPU_RATIO_TARGET),
    ]);
  }
  for (const shape of SHAPES) {
    const added = medians.paths[shape].C.addedP50Ms;
    rows.push([
      `added p50 < ${ADDED_P50_TARGET_MS} ms @${rate}/s, ${SHAPE_NAMES[shape]}`,
      added ? rangedSigned(report, added, 3) : 'n/a',
      verdict((added?.median ?? NaN) < ADDED_P50_TARGET_MS),
    ]);
  }
  rows.push([
    `gateway peak RSS < ${RSS_TARGET_MIB} MiB`,
    `${fixed(report.gatewayPeakRssMiB, 1)} MiB (VmHWM, whole run)`,
    verdict(report.gatewayPeakRssMiB < RSS_TARGET_MIB),
  ]);
  return markdownTable(['target', 'measured', 'result'], rows);
}

function ledgerLine(report: RunReport): string {
  const l = report.ledger;
  if (!l) return 'Ledger: not read.';
  return (
    `Ledger after the run: ${l.rows} rows for ${report.gatewayRequests} requests sent to the ` +
    `gateway (${l.streamed} streamed), ${l.unpriced} unpriced, ${l.notOk} not 200, ` +
    `${l.notFromProvider} not usage_source=provider, total cost ${l.totalCostUsd} USD` +
    (l.flags.length ? `, flags seen: ${l.flags.join(' ')}` : ', no flags') +
    '.'
  );
}

type Located = { where: string; mode: 'sat' | 'rate'; measured: Measured };

/** Every timed phase of the run, with where it was. */
function allPhases(report: RunReport): Located[] {
  return report.rounds.flatMap((round, i) =>
    SHAPES.flatMap((shape) =>
      PATHS.flatMap((path) =>
        (['sat', 'rate'] as const).map((mode) => ({
          where: `round ${i + 1}, ${shape} ${MODE_NAMES[mode]} via ${path}`,
          mode,
          measured: round[shape][path][mode],
        })),
      ),
    ),
  );
}

function worstPhase(
  report: RunReport,
  figure: (m: Measured) => number,
): { value: number; where: string } {
  return allPhases(report).reduce(
    (worst, phase) => {
      const value = figure(phase.measured);
      return value > worst.value ? { value, where: phase.where } : worst;
    },
    { value: 0, where: '' },
  );
}

// Other jobs on a shared machine skew CPU and latency figures, so the report says how much
// CPU went to processes outside the bench during the timed phases, and in which phase most.
function noiseLine(report: RunReport): string {
  const foreign = worstPhase(report, (m) => m.foreignCores);
  const steal = worstPhase(report, (m) => m.stealCores);
  const at = (w: { where: string }): string => (w.where ? ` (${w.where})` : '');
  return (
    `Noise: at most ${fixed(foreign.value, 2)} cores of CPU outside the bench${at(foreign)} ` +
    `and ${fixed(steal.value, 2)} cores stolen by the host${at(steal)} in any timed phase ` +
    `of any round.`
  );
}

function roundsLine(report: RunReport): string {
  const s = report.settings;
  const phases = allPhases(report).length;
  return (
    `Rounds: ${report.rounds.length}, each running A, B and C back to back for each shape and ` +
    `load, ${phases} timed phases of ${s.measureMs / 1000} s in all, each after ` +
    `${s.warmupMs / 1000} s of warm-up, with one set of processes for the whole run. The ` +
    `tables show the median over the rounds; added p50 and the CPU ratios are the median of ` +
    `each round's own difference or ratio (range over the rounds in brackets).`
  );
}

function memoryLine(report: RunReport): string {
  const byRound = report.gatewayPeakRssByRoundMiB.map((v) => fixed(v, 1)).join(', ');
  return (
    `Gateway memory: peak RSS ${fixed(report.gatewayPeakRssMiB, 1)} MiB over the whole run ` +
    `(peak so far after each round: ${byRound} MiB), ` +
    `${fixed(report.gatewayEndRssMiB, 1)} MiB at the end.`
  );
}

/** The whole report as Markdown. */
export function renderReport(report: RunReport): string {
  const m = report.machine;
  const s = report.settings;
  const medians = runMedians(report);
  const lag = allPhases(report)
    .filter((p) => p.mode === 'rate')
    .map((p) => p.measured.result.lagMeanMs);
  const meanLag = lag.reduce((a, b) => a + b, 0) / lag.length;
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux ${m.kernel}, ${m.date}.`,
    `Phases: ${s.measureMs / 1000} s each after ${s.warmupMs / 1000} s of warm-up; ` +
      `saturation at ${s.concurrency} connections (closed loop), latency at ${s.rate} req/s ` +
      `(open loop, measured from each send's scheduled time; mean timer lag ` +
      `${fixed(meanLag, 3)} ms, the same for every path).`,
    roundsLine(report),
    '',
    '### Throughput and latency',
    '',
    latencyTable(report, medians),
    '',
    '### CPU per request (µs, utime+stime from /proc, all threads)',
    '',
    cpuTable(report, medians),
    '',
    '### Targets',
    '',
    targetTable(report, medians),
    '',
    memoryLine(report),
    ledgerLine(report),
    noiseLine(report),
    ...report.notes,
  ].join('\n');
}
