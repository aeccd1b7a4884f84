/**
 * The gateway's memory under sustained load: `spendgate serve` (the built bin, as users run it)
 * in front of the bench's local upstream, with the load generator keeping 32 requests in flight
 * without a pause, non-streamed and streamed phases in turn. After each phase it prints the
 * gateway's resident memory (VmRSS), its peak so far (VmHWM) and its V8 heap as /metrics reports
 * it, then a summary. The gateway bench (bench/gateway.ts) loads the gateway a third of the time
 * only; this one shows where a busy gateway's memory settles.
 *
 *   npm run build && node --import tsx bench/memory.ts [--seconds 120] [--phase-ms 5000]
 *     [--node-flags=--heap-growing-percent=0]
 *
 * `--node-flags` starts the gateway's Node with those flags: `--heap-growing-percent=0` gives V8
 * back its own heap growth factor, for comparison. Every process runs on 127.0.0.1 and is
 * stopped by its PID at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runPhase, startGateway, startHelper, stopChild, type BenchChild } from './lib/children.js';
import { GATEWAY_UPSTREAM, writeGatewayConfig } from './lib/gateway-setup.js';
import { CHAT_PATH } from './lib/payloads.js';
import { memoryMiB } from './lib/proc.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    'phase-ms': { type: 'string', default: '5000' },
    'node-flags': { type: 'string', default: '' },
  },
});

/** The gateway's V8 heap, used and total, in MiB, from its own /metrics. */
async function heapMiB(port: number): Promise<{ used: number; total: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (name: string): number => {
    const match = new RegExp(`^spendgate_${name} (\\d+)`, 'm').exec(text);
    return match ? Number(match[1]) / 1048576 : NaN;
  };
  return { used: read('nodejs_heap_size_used_bytes'), total: read('nodejs_heap_size_total_bytes') };
}

const mib = (n: number): string => n.toFixed(1);

async function main(): Promise<void> {
  const phaseMs = Number(flags['phase-ms']);
  const phases = Math.max(1, Math.round((Number(flags.seconds) * 1000) / phaseMs));
  const nodeFlags = (flags['node-flags'] ?? '').split(' ').filter(Boolean);
  const dir = mkdtempSync(join(tmpdir(), 'spendgate-memory-'));
  const started: BenchChild[] = [];
  try {
    const upstream = await startHelper('upstream', 'upstream.ts');
    started.push(upstream);
    const gateway = await startGateway(
      writeGatewayConfig(dir, `http://127.0.0.1:${upstream.port}`),
      nodeFlags,
    );
    started.push(gateway);
    const loadgen = await startHelper('loadgen', 'loadgen.ts');
    started.push(loadgen);

    const m = cpus()[0]?.model ?? 'CPU';
    process.stdout.write(
      `${m.trim()}, ${cpus().length} cores, Node ${process.version}, Linux ${release()}, ` +
        `${new Date().toISOString()}; gateway node flags: ${nodeFlags.join(' ') || '(none)'}\n` +
        `started: RSS ${mib(memoryMiB(gateway.pid, 'VmRSS'))} MiB, ` +
        `peak ${mib(memoryMiB(gateway.pid, 'VmHWM'))} MiB\n\n` +
        '| phase | shape | requests | RSS MiB | peak RSS MiB | heap used / total MiB |\n' +
        '|---|---|---|---|---|---|\n',
    );
    const late: number[] = [];
    for (let i = 0; i < phases; i++) {
      const shape = i % 2 === 0 ? 'chat' : 'stream';
      const result = await runPhase(loadgen, {
        id: i + 1,
        origin: `http://127.0.0.1:${gateway.port}`,
        path: `/${GATEWAY_UPSTREAM}${CHAT_PATH}`,
        shape,
        mode: 'closed',
        durationMs: phaseMs,
        concurrency: 32,
        rate: 0,
      });
      const rss = memoryMiB(gateway.pid, 'VmRSS');
      if (i >= phases / 2) late.push(rss);
      const heap = await heapMiB(gateway.port);
      process.stdout.write(
        `| ${i + 1} | ${shape} | ${result.ok}${result.failed ? ` (${result.failed} failed)` : ''} ` +
          `| ${mib(rss)} | ${mib(memoryMiB(gateway.pid, 'VmHWM'))} ` +
          `| ${mib(heap.used)} / ${mib(heap.total)} |\n`,
      );
    }
    process.stdout.write(
      `\npeak RSS ${mib(memoryMiB(gateway.pid, 'VmHWM'))} MiB over ${phases} phases of ` +
        `${phaseMs} ms; RSS after each phase of the second half: ` +
        `${mib(Math.min(...late))}–${mib(Math.max(...late))} MiB\n`,
    );
  } finally {
    for (const child of started.reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`memory bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
