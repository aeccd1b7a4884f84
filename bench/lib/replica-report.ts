/**
 * Turns one run of the replicas bench into Markdown: throughput and latency per target, the
 * latency the gateway adds over the direct path, Redis calls and CPU per request, and the
 * ledger's rows per second into PostgreSQL.
 */
import type { InsertResult } from './ledger-insert.js';
import type { PhaseResult } from './loadgen.js';
import { fixed, markdownTable, median, overRounds, signed, withRange } from './stats.js';

/** A: straight to the upstream; R1: one replica; R2: two replicas sharing Redis and PostgreSQL. */
export type TargetId = 'A' | 'R1' | 'R2';

/** One timed phase, over both load generators. CPU in µs per completed request. */
export type PhaseFigures = {
  round: number;
  target: TargetId;
  mode: 'closed' | 'open';
  clients: PhaseResult[];
  sent: number;
  ok: number;
  failed: number;
  firstError: string | null;
  requestsPerSec: number;
  cpuPerRequest: {
    gateways: number;
    redis: number;
    upstream: number;
    loadgens: number;
    /** The database's server processes for the gateways' connections. */
    postgres: number;
  };
  /** Calls per Redis command sent by the gateways during the phase: one round trip each. */
  roundTrips: [string, number][];
  /** Calls per command run inside the scripts during the phase (no round trip of their own). */
  insideScripts: [string, number][];
  /** The phase's rows committed in PostgreSQL per second, from its start to its last row. */
  ledgerRowsPerSec: number;
  /** From the phase's last answer until its last row was committed in PostgreSQL. */
  ledgerLagMs: number;
  foreignCores: number;
};

/** Everything one run measured. */
export type ReplicaReport = {
  machine: { cpu: string; cores: number; node: string; date: string; kernel: string };
  settings: {
    measureMs: number;
    warmupMs: number;
    concurrency: number;
    rate: number;
    insertRows: number;
    rounds: number;
  };
  phases: PhaseFigures[];
  peakRssMiB: number[];
  inserts: InsertResult[];
  notes: string[];
};

const NAMES: Record<TargetId, string> = {
  A: 'A direct to upstream',
  R1: 'R1 one replica',
  R2: 'R2 two replicas',
};

function phasesOf(report: ReplicaReport, target: TargetId, mode: 'closed' | 'open') {
  const found = report.phases.filter((p) => p.target === target && p.mode === mode);
  if (found.length === 0) throw new Error(`no ${mode} phase for ${target}`);
  return found;
}

/** The median over the rounds of one figure of a target's phases. */
function med(phases: PhaseFigures[], figure: (p: PhaseFigures) => number): number {
  return median(phases.map(figure));
}

/** `median (lowest–highest)` over the rounds. */
function rangedOver(phases: PhaseFigures[], figure: (p: PhaseFigures) => number, d: number) {
  const values = phases.map(figure);
  return values.length === 1 ? fixed(values[0] ?? NaN, d) : withRange(overRounds(values), d);
}

// Each load generator reports its own percentiles over its half of the requests; with equal
// halves the mean of the two medians and the larger of the two p99s are what is shown.
function p50(phase: PhaseFigures): number {
  return phase.clients.reduce((sum, c) => sum + c.latency.p50, 0) / phase.clients.length;
}

function p99(phase: PhaseFigures): number {
  return Math.max(...phase.clients.map((c) => c.latency.p99));
}

function latencyTable(report: ReplicaReport): string {
  const { concurrency, rate } = report.settings;
  const direct = phasesOf(report, 'A', 'open');
  const rows = (['A', 'R1', 'R2'] as TargetId[]).map((target) => {
    const sat = phasesOf(report, target, 'closed');
    const open = phasesOf(report, target, 'open');
    const failed = [...sat, ...open].reduce((sum, p) => sum + p.failed, 0);
    return [
      NAMES[target],
      rangedOver(sat, (p) => p.requestsPerSec, 0),
      fixed(med(open, p50), 3),
      fixed(med(open, p99), 3),
      target === 'A' ? '—' : `${signed(med(open, p50) - med(direct, p50), 3)} ms`,
      target === 'A' ? '—' : `${signed(med(open, p99) - med(direct, p99), 3)} ms`,
      String(failed),
    ];
  });
  return markdownTable(
    [
      'target',
      `req/s @${concurrency} conns`,
      `p50 ms @${rate}/s`,
      `p99 ms @${rate}/s`,
      'added p50',
      'added p99',
      'failed',
    ],
    rows,
  );
}

function perRequest(calls: [string, number][], sent: number): number {
  return calls.reduce((sum, [, n]) => sum + n, 0) / Math.max(1, sent);
}

/** Calls per request by command, over every round of the phases. */
function callList(phases: PhaseFigures[], pick: (p: PhaseFigures) => [string, number][]) {
  const sent = phases.reduce((sum, p) => sum + p.sent, 0);
  const totals = new Map<string, number>();
  for (const p of phases)
    for (const [name, n] of pick(p)) totals.set(name, (totals.get(name) ?? 0) + n);
  const calls = [...totals].sort((a, b) => b[1] - a[1]);
  const shown = calls.map(([name, n]) => `${name} ${fixed(n / Math.max(1, sent), 2)}`);
  return `${fixed(perRequest(calls, sent), 3)} (${shown.length ? shown.join(', ') : 'none'})`;
}

function storeTable(report: ReplicaReport): string {
  const { concurrency, rate } = report.settings;
  const rows = (['R1', 'R2'] as TargetId[]).flatMap((target) =>
    (['closed', 'open'] as const).map((mode) => {
      const phases = phasesOf(report, target, mode);
      return [
        NAMES[target],
        mode === 'closed' ? `@${concurrency} conns` : `@${rate}/s`,
        callList(phases, (p) => p.roundTrips),
        callList(phases, (p) => p.insideScripts),
        rangedOver(phases, (p) => p.cpuPerRequest.gateways, 0),
        fixed(
          med(phases, (p) => p.cpuPerRequest.redis),
          1,
        ),
        fixed(
          med(phases, (p) => p.cpuPerRequest.postgres),
          1,
        ),
        rangedOver(phases, (p) => p.ledgerRowsPerSec, 0),
        fixed(Math.max(...phases.map((p) => p.ledgerLagMs)), 0),
        fixed(Math.max(...phases.map((p) => p.foreignCores)), 2),
      ];
    }),
  );
  return markdownTable(
    [
      'target',
      'load',
      'Redis round trips/req',
      'commands inside scripts/req',
      'gateway CPU µs/req (all replicas)',
      'redis-server CPU µs/req',
      'PostgreSQL backends CPU µs/req',
      'ledger rows/s',
      'last row committed after the last answer, worst (ms)',
      'cores outside the bench, worst',
    ],
    rows,
  );
}

function insertLines(report: ReplicaReport): string[] {
  return report.inserts.map(
    (r) =>
      `Insert phase, ${r.writers} writer${r.writers > 1 ? 's at once' : ''}: ${r.rows} rows ` +
      `committed in ${fixed(r.seconds, 2)} s, ${fixed(r.rowsPerSec, 0)} rows/s.`,
  );
}

/** The whole report as Markdown. */
export function renderReplicaReport(report: ReplicaReport): string {
  const m = report.machine;
  const s = report.settings;
  const sat = (t: TargetId): number => med(phasesOf(report, t, 'closed'), (p) => p.requestsPerSec);
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux ${m.kernel}, ${m.date}.`,
    `${s.rounds} round(s); in each, every target gets a ${s.measureMs / 1000} s saturation ` +
      `phase and a ${s.measureMs / 1000} s phase at ${s.rate} req/s, each after ` +
      `${s.warmupMs / 1000} s of warm-up. The load is split over two load generators ` +
      `(${s.concurrency / 2} connections or ${s.rate / 2} req/s each; for R2 one per replica). ` +
      'Figures are medians over the rounds (range in brackets); p50 is the mean of the two ' +
      'clients’ p50, p99 the larger of their p99s.',
    '',
    '### Throughput and latency (~1 KB chat completion)',
    '',
    latencyTable(report),
    '',
    `Two replicas against one: ${fixed(sat('R2') / sat('R1'), 2)}× the requests/s at saturation.`,
    '',
    '### Redis, CPU and ledger per phase',
    '',
    storeTable(report),
    '',
    ...insertLines(report),
    `Replica peak RSS: ${report.peakRssMiB.map((v) => `${fixed(v, 1)} MiB`).join(', ')} (VmHWM).`,
    ...report.notes,
  ].join('\n');
}
