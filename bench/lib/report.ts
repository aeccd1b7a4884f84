/**
 * Turns one bench run into Markdown: the machine, throughput and latency per shape and path,
 * CPU per request per process, and whether each of the project's targets was met.
 */
import type { LedgerCheck } from './gateway-setup.js';
import type { PhaseResult } from './loadgen.js';
import { fixed, markdownTable, signed } from './stats.js';

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

/** Everything a run measured. */
export type RunReport = {
  machine: { cpu: string; cores: number; node: string; date: string; kernel: string };
  settings: { measureMs: number; warmupMs: number; concurrency: number; rate: number };
  phases: Record<Shape, Record<PathId, { sat: Measured; rate: Measured }>>;
  gatewayPeakRssMiB: number;
  gatewayEndRssMiB: number;
  gatewayRequests: number;
  ledger: LedgerCheck | null;
  notes: string[];
};

/** Gateway CPU per request at most this many times the minimal proxy's. */
export const CPU_RATIO_TARGET = 1.5;
/** Added p50 latency at the fixed rate, in milliseconds. */
export const ADDED_P50_TARGET_MS = 0.5;
/** Gateway peak resident memory, in MiB. */
export const RSS_TARGET_MIB = 200;

const SHAPES: Shape[] = ['chat', 'stream'];
const PATHS: PathId[] = ['A', 'B', 'C'];
const PATH_NAMES: Record<PathId, string> = { A: 'A direct', B: 'B minimal proxy', C: 'C gateway' };
const SHAPE_NAMES: Record<Shape, string> = { chat: '~1 KB chat', stream: '20-chunk stream' };

function relayOf(path: PathId): ProcName | null {
  return path === 'B' ? 'proxy' : path === 'C' ? 'gateway' : null;
}

function addedP50(report: RunReport, shape: Shape, path: PathId): number {
  const byPath = report.phases[shape];
  return byPath[path].rate.result.latency.p50 - byPath.A.rate.result.latency.p50;
}

function cpuRatio(report: RunReport, shape: Shape, phase: 'sat' | 'rate'): number {
  const byPath = report.phases[shape];
  return byPath.C[phase].cpuPerRequest.gateway / byPath.B[phase].cpuPerRequest.proxy;
}

function latencyTable(report: RunReport): string {
  const { concurrency, rate } = report.settings;
  const header = [
    'shape',
    'path',
    `req/s @${concurrency} conns`,
    `p50 ms @${rate}/s`,
    `p99 ms @${rate}/s`,
    'added p50 vs A',
    'failed',
  ];
  const rows = SHAPES.flatMap((shape) =>
    PATHS.map((path) => {
      const { sat, rate: open } = report.phases[shape][path];
      return [
        SHAPE_NAMES[shape],
        PATH_NAMES[path],
        fixed(sat.result.requestsPerSec, 0),
        fixed(open.result.latency.p50, 3),
        fixed(open.result.latency.p99, 3),
        path === 'A' ? '—' : `${signed(addedP50(report, shape, path), 3)} ms`,
        String(sat.result.failed + open.result.failed),
      ];
    }),
  );
  return markdownTable(header, rows);
}

function cpuTable(report: RunReport): string {
  const { concurrency, rate } = report.settings;
  const header = [
    'shape',
    'path',
    `upstream @${concurrency}`,
    `relay @${concurrency}`,
    `upstream @${rate}/s`,
    `relay @${rate}/s`,
    `load gen @${rate}/s`,
    `other cores @${concurrency} / @${rate}/s`,
  ];
  const rows = SHAPES.flatMap((shape) =>
    PATHS.map((path) => {
      const { sat, rate: open } = report.phases[shape][path];
      const relay = relayOf(path);
      return [
        SHAPE_NAMES[shape],
        PATH_NAMES[path],
        fixed(sat.cpuPerRequest.upstream, 0),
        relay ? fixed(sat.cpuPerRequest[relay], 0) : '—',
        fixed(open.cpuPerRequest.upstream, 0),
        relay ? fixed(open.cpuPerRequest[relay], 0) : '—',
        fixed(open.cpuPerRequest.loadgen, 0),
        `${fixed(sat.foreignCores, 2)} / ${fixed(open.foreignCores, 2)}`,
      ];
    }),
  );
  return markdownTable(header, rows);
}

function verdict(met: boolean): string {
  return met ? 'met' : '**missed**';
}

function targetTable(report: RunReport): string {
  const { concurrency, rate } = report.settings;
  const rows: string[][] = [];
  for (const shape of SHAPES) {
    const ratios = [cpuRatio(report, shape, 'sat'), cpuRatio(report, shape, 'rate')];
    rows.push([
      `gateway CPU/req ≤ ${CPU_RATIO_TARGET}× proxy, ${SHAPE_NAMES[shape]}`,
      `${fixed(ratios[0] ?? NaN, 2)}× @${concurrency}, ${fixed(ratios[1] ?? NaN, 2)}× @${rate}/s`,
      verdict(ratios.every((r) => r <= CPU_RATIO_TARGET)),
    ]);
  }
  for (const shape of SHAPES) {
    const added = addedP50(report, shape, 'C');
    rows.push([
      `added p50 < ${ADDED_P50_TARGET_MS} ms @${rate}/s, ${SHAPE_NAMES[shape]}`,
      `${signed(added, 3)} ms`,
      verdict(added < ADDED_P50_TARGET_MS),
    ]);
  }
  rows.push([
    `gateway peak RSS < ${RSS_TARGET_MIB} MiB`,
    `${fixed(report.gatewayPeakRssMiB, 1)} MiB (VmHWM)`,
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

// Other jobs on a shared machine skew CPU and latency figures, so the report says how much
// CPU went to processes outside the bench during the timed phases.
function noiseLine(report: RunReport): string {
  const all = SHAPES.flatMap((shape) =>
    PATHS.flatMap((p) => [report.phases[shape][p].sat, report.phases[shape][p].rate]),
  );
  const foreign = Math.max(...all.map((m) => m.foreignCores));
  const steal = Math.max(...all.map((m) => m.stealCores));
  return (
    `Noise: at most ${fixed(foreign, 2)} cores of CPU outside the bench and ` +
    `${fixed(steal, 2)} cores stolen by the host in any timed phase.`
  );
}

/** The whole report as Markdown. */
export function renderReport(report: RunReport): string {
  const m = report.machine;
  const s = report.settings;
  const lag = SHAPES.flatMap((shape) =>
    PATHS.map((p) => report.phases[shape][p].rate.result.lagMeanMs),
  );
  const meanLag = lag.reduce((a, b) => a + b, 0) / lag.length;
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux ${m.kernel}, ${m.date}.`,
    `Phases: ${s.measureMs / 1000} s each after ${s.warmupMs / 1000} s of warm-up; ` +
      `saturation at ${s.concurrency} connections (closed loop), latency at ${s.rate} req/s ` +
      `(open loop, measured from each send's scheduled time; mean timer lag ` +
      `${fixed(meanLag, 3)} ms, the same for every path).`,
    '',
    '### Throughput and latency',
    '',
    latencyTable(report),
    '',
    '### CPU per request (µs, utime+stime from /proc, all threads)',
    '',
    cpuTable(report),
    '',
    '### Targets',
    '',
    targetTable(report),
    '',
    `Gateway memory: peak RSS ${fixed(report.gatewayPeakRssMiB, 1)} MiB, ` +
      `${fixed(report.gatewayEndRssMiB, 1)} MiB at the end.`,
    ledgerLine(report),
    noiseLine(report),
    ...report.notes,
  ].join('\n');
}
