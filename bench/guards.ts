/**
 * Guards benchmark: anomaly tracking, the circuit breaker and loop detection on for 10,000
 * active scopes. Prints p50/p99 of check + observe per request and the RSS growth over the same
 * process without guards (targets: p50 under 0.1 ms, under 100 MB). Run with
 * `node --expose-gc --import tsx bench/guards.ts`; BENCH_SCOPES overrides the scope count.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fakeClock } from '../src/clock.js';
import { createGuards } from '../src/guards/guards.js';
import type { GuardRequest } from '../src/guards/types.js';
import { usdToPico } from '../src/money/money.js';
import { anomalySchema } from '../src/policy/anomaly.js';
import { circuitBreakerSchema } from '../src/policy/circuit-breaker.js';
import { loopDetectionSchema } from '../src/policy/loop-detector.js';

const SCOPES = Number(process.env.BENCH_SCOPES ?? 10_000);
const REQUESTS = 200_000;
const START = Date.parse('2026-05-10T12:00:00Z');

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1e6;
}

function heapMb(): number {
  return process.memoryUsage().heapUsed / 1e6;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

const requests: GuardRequest[] = Array.from({ length: SCOPES }, (_, i) => ({
  dims: { org: `org-${i}`, user: `user-${i % 500}` },
  path: '/v1/chat/completions',
  model: 'gpt-4o-mini',
  body: {
    model: 'gpt-4o-mini',
    user: `user-${i % 500}`,
    messages: [
      { role: 'system', content: 'You are a helpful support assistant for a SaaS product.' },
      { role: 'user', content: `Summarise ticket ${i} in three bullet points.` },
    ],
    max_tokens: 256,
  },
}));
const cost = usdToPico('0.000412');

const before = rssMb();
const heapBefore = heapMb();
const clock = fakeClock(START);
const guards = createGuards({
  anomaly: anomalySchema.parse({ scope: { org: '*' } }),
  breaker: circuitBreakerSchema.parse({
    scope: { org: '*' },
    max_usd_per_minute: 5,
    baseline_multiplier: 20,
  }),
  loops: loopDetectionSchema.parse({ scope: { org: '*' }, ignore_fields: ['user'] }),
  clock,
});

// Warm up: every scope gets history, so all 10,000 are live during the measurement.
for (let i = 0; i < SCOPES * 3; i++) {
  clock.advance(7);
  const req = requests[i % SCOPES] as GuardRequest;
  guards.check(req);
  guards.observe(req.dims, cost);
}

const samples = new Float64Array(REQUESTS);
for (let i = 0; i < REQUESTS; i++) {
  clock.advance(3);
  const req = requests[(i * 7919) % SCOPES] as GuardRequest;
  const t = performance.now();
  const verdict = guards.check(req);
  if (verdict.allowed) guards.observe(req.dims, cost);
  samples[i] = performance.now() - t;
}
const after = rssMb();
const heapAfter = heapMb();
samples.sort();

const cpu = os.cpus()[0];
process.stdout.write(
  [
    `machine: ${cpu?.model ?? 'unknown'} x${os.cpus().length}, ` +
      `${Math.round(os.totalmem() / 1e9)} GB, node ${process.version}`,
    `scopes: ${SCOPES}, requests measured: ${REQUESTS}, tracked: ${guards.view().trackedScopes}`,
    `check+observe p50 ${(percentile(samples, 0.5) * 1000).toFixed(1)} us, ` +
      `p99 ${(percentile(samples, 0.99) * 1000).toFixed(1)} us`,
    `rss without guards ${before.toFixed(1)} MB, with ${after.toFixed(1)} MB, ` +
      `added ${(after - before).toFixed(1)} MB ` +
      `(live heap added ${(heapAfter - heapBefore).toFixed(1)} MB)`,
  ].join('\n') + '\n',
);
