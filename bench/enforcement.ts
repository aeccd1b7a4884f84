/**
 * Enforcement micro-benchmark: p50/p99 of admit + settle with 10 budgets and 2 rate limits on
 * every request, then the RSS with 100,000 live budget instances. Run with
 * `node --import tsx bench/enforcement.ts`.
 */
import os from 'node:os';
import { fakeClock } from '../src/clock.js';
import { createEnforcer } from '../src/engine/engine.js';
import { usdToPico } from '../src/money/money.js';
import { budgetsSchema, rateLimitsSchema } from '../src/policy/schema.js';
import { MemoryStore } from '../src/store/memory.js';

const START = Date.parse('2026-05-10T12:00:00Z');
const scopes = ['org', 'team', 'user', 'endpoint', 'model'] as const;
const budgets = budgetsSchema.parse(
  Array.from({ length: 10 }, (_, i) => ({
    name: `b${i}`,
    scope: { [scopes[i % scopes.length] as string]: '*' },
    limit_usd: 1_000_000,
    period: (['1d', 'month', '1h', '7d', '30d'] as const)[i % 5],
    timezone: i % 2 === 0 ? 'UTC' : 'Europe/Amsterdam',
    actions: [
      { at: 80, do: 'warn' },
      { at: 95, do: 'throttle', delay_ms: [100, 500] },
      { at: 100, do: 'reject' },
    ],
  })),
);
const rateLimits = rateLimitsSchema.parse([
  { name: 'org-tpm', scope: { org: '*' }, tokens_per_minute: 1e12, requests_per_minute: 1e9 },
  { name: 'user-tpd', scope: { user: '*' }, tokens_per_day: 1e12 },
]);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function latency(): Promise<void> {
  const clock = fakeClock(START);
  const enforcer = createEnforcer({ budgets, rateLimits, store: new MemoryStore(), clock });
  const cost = usdToPico('0.0123');
  const samples: number[] = [];
  const runs = 60_000;
  for (let i = 0; i < runs; i++) {
    const dims = {
      org: `org${i % 50}`,
      team: `team${i % 200}`,
      user: `user${i % 5000}`,
      endpoint: `/ep${i % 20}`,
      model: 'gpt-4o',
      provider: 'openai',
    };
    const t0 = process.hrtime.bigint();
    const a = await enforcer.admit({ dims, costPico: cost, tokens: 4_000 });
    if (a.allowed) await a.hold.settle(cost, 3_000);
    const t1 = process.hrtime.bigint();
    if (i >= 10_000) samples.push(Number(t1 - t0) / 1e6);
    clock.advance(1);
  }
  samples.sort((a, b) => a - b);
  process.stdout.write(
    `admit+settle, 10 budgets + 2 rate limits: p50 ${percentile(samples, 0.5).toFixed(4)} ms, ` +
      `p99 ${percentile(samples, 0.99).toFixed(4)} ms (${samples.length} samples)\n`,
  );
}

async function memory(): Promise<void> {
  const clock = fakeClock(START);
  const store = new MemoryStore();
  const perUser = budgetsSchema.parse([
    { name: 'user-daily', scope: { user: '*' }, limit_usd: 10, period: '1d' },
  ]);
  const enforcer = createEnforcer({ budgets: perUser, rateLimits: [], store, clock });
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const cost = usdToPico('0.01');
  for (let i = 0; i < 100_000; i++) {
    const a = await enforcer.admit({ dims: { user: `user-${i}` }, costPico: cost, tokens: 10 });
    if (a.allowed) await a.hold.settle(cost, 10);
  }
  globalThis.gc?.();
  const after = process.memoryUsage().rss;
  process.stdout.write(
    `100,000 budget instances (${store.size.budgets} held): ` +
      `RSS ${(after / 2 ** 20).toFixed(1)} MB` +
      ` (+${((after - before) / 2 ** 20).toFixed(1)} MB over the empty store)\n`,
  );
}

process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, ` +
    `Node ${process.version}, ${os.platform()} ${os.arch()}\n`,
);
await latency();
await memory();
