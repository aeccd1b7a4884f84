/**
 * Two gateway builds side by side, to measure one change: the same load through a baseline
 * build (`--baseline`, a `bin/spendgate.js` of another checkout, built) and through this
 * checkout's build, in rounds that alternate which goes first. Prints each phase and the
 * median of the rounds' CPU ratios (this build / baseline) and p50 latencies.
 *
 *   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && npm ci && npm run build)
 *   npm run build && node --import tsx bench/ab.ts --baseline /tmp/base/bin/spendgate.js
 *
 * Flags: --shape chat|stream (stream), --mode rate|saturation (rate: 500 req/s),
 * --rounds N (8), --measure-ms N (2500). Every process runs on 127.0.0.1 and is stopped by its
 * PID at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  runPhase,
  startGateway,
  startHelper,
  stopChild,
  type GatewayChild,
} from './lib/children.js';
import { GATEWAY_UPSTREAM, writeGatewayConfig } from './lib/gateway-setup.js';
import { CHAT_PATH } from './lib/payloads.js';
import { cpuMicros } from './lib/proc.js';
import { median } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    baseline: { type: 'string' },
    shape: { type: 'string', default: 'stream' },
    mode: { type: 'string', default: 'rate' },
    rounds: { type: 'string', default: '8' },
    'measure-ms': { type: 'string', default: '2500' },
  },
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  if (!flags.baseline)
    throw new Error('--baseline <path to the other build’s bin/spendgate.js> is required');
  const shape = flags.shape === 'chat' ? 'chat' : 'stream';
  const mode = flags.mode === 'saturation' ? 'closed' : 'open';
  const rounds = Number(flags.rounds);
  const measureMs = Number(flags['measure-ms']);
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-ab-'));
  const started: { name: string; pid: number; proc: GatewayChild['proc'] }[] = [];
  try {
    const upstream = await startHelper('upstream', 'upstream.ts');
    started.push(upstream);
    const origin = `http://127.0.0.1:${upstream.port}`;
    const builds: Record<'baseline' | 'this', GatewayChild> = {
      baseline: await startGateway(
        writeGatewayConfig(mkdtempSync(join(dir, 'b-')), origin),
        [],
        flags.baseline,
      ),
      this: await startGateway(writeGatewayConfig(mkdtempSync(join(dir, 't-')), origin), []),
    };
    started.push(builds.baseline, builds.this);
    const loadgen = await startHelper('loadgen', 'loadgen.ts');
    started.push(loadgen);

    let id = 0;
    const ratios: number[] = [];
    const p50: Record<'baseline' | 'this', number[]> = { baseline: [], this: [] };
    for (let round = 0; round < rounds; round++) {
      const cpu = { baseline: 0, this: 0 };
      const order =
        round % 2 === 0 ? (['baseline', 'this'] as const) : (['this', 'baseline'] as const);
      for (const build of order) {
        const gateway = builds[build];
        const phase = {
          origin: `http://127.0.0.1:${gateway.port}`,
          path: `/${GATEWAY_UPSTREAM}${CHAT_PATH}`,
          shape,
          mode,
          concurrency: 32,
          rate: 500,
        } as const;
        await runPhase(loadgen, { ...phase, id: ++id, durationMs: 1000 });
        await sleep(150);
        const before = cpuMicros(gateway.pid);
        const result = await runPhase(loadgen, { ...phase, id: ++id, durationMs: measureMs });
        await sleep(150);
        cpu[build] = (cpuMicros(gateway.pid) - before) / Math.max(1, result.ok);
        p50[build].push(result.latency.p50);
        process.stdout.write(
          `round ${round + 1} ${build.padEnd(8)} ${result.ok} ok, ${result.failed} failed, ` +
            `${cpu[build].toFixed(0)} µs CPU/request, p50 ${result.latency.p50.toFixed(3)} ms\n`,
        );
      }
      ratios.push(cpu.this / cpu.baseline);
    }
    process.stdout.write(
      `\n${cpus()[0]?.model ?? 'CPU'} (${cpus().length} cores), Node ${process.version}, ` +
        `${shape} at ${mode === 'open' ? '500 req/s' : 'saturation (32 connections)'}, ${rounds} rounds of ${measureMs} ms\n` +
        `CPU this/baseline: median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); ` +
        `p50 baseline ${median(p50.baseline).toFixed(3)} ms, this ${median(p50.this).toFixed(3)} ms\n`,
    );
  } finally {
    for (const child of started.reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`ab failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
