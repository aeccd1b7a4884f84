/**
 * The bench's load generator, its own process so that its CPU is not charged to what it
 * measures. The parent sends one phase at a time over IPC and gets a summary back: closed loop
 * (fixed concurrency, as fast as answers come) or open loop (sends scheduled on a timer, latency
 * measured from the scheduled time, so a slow answer cannot hide the requests queued behind it).
 */
import { Pool } from 'undici';
import { chatRequestBody, STREAM_TAIL, streamRequestBody } from './payloads.js';
import { summarize, type LatencySummary } from './stats.js';

/** One phase the parent asks for. */
export type PhaseRequest = {
  id: number;
  origin: string;
  path: string;
  shape: 'chat' | 'stream';
  mode: 'closed' | 'open';
  durationMs: number;
  /** Closed loop: requests in flight at all times. */
  concurrency: number;
  /** Open loop: requests per second. */
  rate: number;
  /** Sent instead of the chat shape's request when given (the decision bench's calls). */
  request?: CustomRequest;
};

/** A request sent as is; an answer with `okStatus` counts as a success. */
export type CustomRequest = {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
  okStatus: number;
  /**
   * Sent after each successful answer, on the same origin, with `{request_id}` in its body
   * replaced by the answer's `x-spendgate-request-id` (a decision's usage report).
   */
  followUp?: { path: string; headers: Record<string, string>; body: string; okStatus: number };
};

/** What one phase did; latencies in milliseconds. */
export type PhaseResult = {
  id: number;
  sent: number;
  ok: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  requestsPerSec: number;
  latency: LatencySummary;
  /** Open loop only: mean delay between a send's scheduled and actual time. */
  lagMeanMs: number;
};

const HEADERS = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench-client-key-0000000000000000',
  'x-org-id': 'acme',
  'x-team-id': 'search',
  'x-user-id': 'u-1017',
  'x-app': 'bench',
};

const TAIL = Buffer.from(STREAM_TAIL);
const pools = new Map<string, Pool>();

function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 256, keepAliveTimeout: 60_000 });
    pools.set(origin, pool);
  }
  return pool;
}

/** Numbers the requests, so each one's last message is new. */
let turn = 0;

/** Sends one request and reads its body to the end; null when it is a complete 200. */
async function sendOne(pool: Pool, phase: PhaseRequest): Promise<string | null> {
  const { path, shape, request } = phase;
  if (request) return sendCustom(pool, path, request);
  const res = await pool.request({
    path,
    method: 'POST',
    headers: HEADERS,
    body: (shape === 'chat' ? chatRequestBody : streamRequestBody)((turn += 1)),
  });
  let previous: Buffer | undefined;
  let last: Buffer | undefined;
  for await (const chunk of res.body) {
    previous = last;
    last = chunk as Buffer;
  }

  if (res.statusCode !== 200) return `status ${res.statusCode}`;
  if (shape === 'stream') {
    const end = previous && last ? Buffer.concat([previous, last]) : last;
    if (!end || !end.subarray(-TAIL.length).equals(TAIL)) return 'stream did not end with [DONE]';
  }
  return null;
}

async function sendCustom(
  pool: Pool,
  path: string,
  request: CustomRequest,
): Promise<string | null> {
  const { followUp, ...first } = request;
  const res = await pool.request({ path, ...first });
  for await (const _chunk of res.body) {
    // Read to the end so the connection is reused.
  }
  if (res.statusCode !== request.okStatus) return `status ${res.statusCode}`;
  if (!followUp) return null;

  const id = String(res.headers['x-spendgate-request-id'] ?? '');
  const next = await pool.request({
    path: followUp.path,
    method: 'POST',
    headers: followUp.headers,
    body: followUp.body.replace('{request_id}', id),
  });
  for await (const _chunk of next.body) {
    // As above.
  }
  return next.statusCode === followUp.okStatus ? null : `follow-up status ${next.statusCode}`;
}

async function closedLoop(phase: PhaseRequest): Promise<PhaseResult> {
  const pool = poolFor(phase.origin);
  const latencies: number[] = [];
  const outcome = { sent: 0, failed: 0, firstError: null as string | null };
  const started = performance.now();
  const deadline = started + phase.durationMs;

  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      outcome.sent += 1;
      const error = await sendOne(pool, phase).catch((err: Error) => err.message);
      if (error === null) latencies.push(performance.now() - t0);
      else fail(outcome, error);
    }
  };
  await Promise.all(Array.from({ length: phase.concurrency }, worker));

  const elapsedMs = performance.now() - started;
  return result(phase, outcome, latencies, elapsedMs, 0);
}

async function openLoop(phase: PhaseRequest): Promise<PhaseResult> {
  const pool = poolFor(phase.origin);
  const total = Math.round((phase.rate * phase.durationMs) / 1000);
  const intervalMs = 1000 / phase.rate;
  const latencies: number[] = [];
  const outcome = { sent: 0, failed: 0, firstError: null as string | null };
  const inFlight: Promise<void>[] = [];
  let lagSum = 0;
  const started = performance.now() + 2;

  const fire = (scheduled: number): void => {
    lagSum += performance.now() - scheduled;
    outcome.sent += 1;
    const done = sendOne(pool, phase).then(
      (error) => {
        if (error === null) latencies.push(performance.now() - scheduled);
        else fail(outcome, error);
      },
      (err: Error) => fail(outcome, err.message),
    );
    inFlight.push(done);
  };

  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      while (next < total && started + next * intervalMs <= now) {
        fire(started + next * intervalMs);
        next += 1;
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, started + next * intervalMs - performance.now()));
    };
    setTimeout(tick, 2);
  });
  await Promise.all(inFlight);

  const elapsedMs = performance.now() - started;
  return result(phase, outcome, latencies, elapsedMs, outcome.sent ? lagSum / outcome.sent : 0);
}

function fail(outcome: { failed: number; firstError: string | null }, error: string): void {
  outcome.failed += 1;
  outcome.firstError ??= error;
}

function result(
  phase: PhaseRequest,
  outcome: { sent: number; failed: number; firstError: string | null },
  latencies: number[],
  elapsedMs: number,
  lagMeanMs: number,
): PhaseResult {
  return {
    id: phase.id,
    sent: outcome.sent,
    ok: latencies.length,
    failed: outcome.failed,
    firstError: outcome.firstError,
    elapsedMs,
    requestsPerSec: (latencies.length * 1000) / elapsedMs,
    latency: summarize(latencies),
    lagMeanMs,
  };
}

process.on('message', (message: PhaseRequest) => {
  const run = message.mode === 'closed' ? closedLoop(message) : openLoop(message);
  run.then((summary) => process.send?.(summary));
});

process.on('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
