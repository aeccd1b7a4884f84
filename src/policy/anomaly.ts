/**
 * Spend-rate anomalies: per scope instance, the spend rate over a short window against a
 * baseline over a long one. This file also holds the constant-memory spend-rate rings that the
 * circuit breaker reads, so one ring per scope serves both rules.
 */
import { z } from 'zod';
import { scopeSchema } from './schema.js';
import { durationSchema } from '../config/duration.js';
import { whenValid } from '../config/when-valid.js';
import type { Pico } from '../money/money.js';

/** A guard rule's scope: `{ org: "*" }` makes one instance per distinct org. */
/** A guard rule's scope, written as a budget's is. */
export const guardScopeSchema = scopeSchema;

/** Accepts one rule object or an array of them, as SPEC shows a single object. */
export function oneOrMany<T extends z.ZodType>(item: T) {
  return z.preprocess((value) => (Array.isArray(value) ? value : [value]), z.array(item));
}

/** Buckets of the short-window ring: 5m at 10 s resolution by default. */
export const SHORT_BUCKETS = 30;
/** Buckets of the one-minute ring the breaker's `max_usd_per_minute` reads (5 s each). */
export const MINUTE_BUCKETS = 12;
/** Buckets of the baseline ring: 24h in hourly buckets by default. */
export const BASELINE_BUCKETS = 24;
/** The span of the breaker's absolute trigger. */
export const MINUTE_MS = 60_000;

const MS_PER_HOUR = 3_600_000;
const PICO_PER_USD = 1e12;
// Rates are floats; a relative tolerance keeps a rate computed exactly at a threshold at it.
const EPSILON = 1e-9;

// Layout of a ring state: first-seen time, the three head bucket numbers, then the sums.
const FIRST = 0;
const SHORT_HEAD = 1;
const MINUTE_HEAD = 2;
const BASE_HEAD = 3;
const SHORT_AT = 4;
const MINUTE_AT = SHORT_AT + SHORT_BUCKETS;
const BASE_AT = MINUTE_AT + MINUTE_BUCKETS;
const STATE_LENGTH = BASE_AT + BASELINE_BUCKETS;

/** The window and baseline of a spend-rate ring, with bucket sizes precomputed. */
export type SpendRateSpec = {
  readonly windowMs: number;
  readonly baselineMs: number;
  readonly shortBucketMs: number;
  readonly minuteBucketMs: number;
  readonly baseBucketMs: number;
};

/**
 * The spend of one scope instance in three time-bucketed rings, in one Float64Array (560
 * bytes): a 24h baseline at 1,440 one-minute bigint buckets would cost ~50 KB a scope. Sums are
 * pico-dollars as doubles, exact to $9,007 a bucket; rates are compared against thresholds,
 * never recorded as money (the ledger keeps exact costs).
 */
export type SpendRateState = Float64Array;

/** The rates read from a ring at one instant; a caller reuses one object to avoid allocation. */
export type SpendRates = {
  /** Spend over the short window, as USD per hour. */
  shortUsdPerHour: number;
  /** Spend within the last minute, in USD. */
  minuteUsd: number;
  /** Spend per hour over the baseline window, excluding the short window. */
  baselineUsdPerHour: number;
  /** Whether a quarter of the baseline window has history; before that only floors apply. */
  trusted: boolean;
};

/** Precomputes the bucket sizes for a window and baseline. */
export function spendRateSpec(windowMs: number, baselineMs: number): SpendRateSpec {
  return {
    windowMs,
    baselineMs,
    shortBucketMs: windowMs / SHORT_BUCKETS,
    minuteBucketMs: MINUTE_MS / MINUTE_BUCKETS,
    baseBucketMs: baselineMs / BASELINE_BUCKETS,
  };
}

/** A ring state with no history. */
export function newSpendRate(): SpendRateState {
  const state = new Float64Array(STATE_LENGTH);
  state[FIRST] = Number.NaN;
  return state;
}

/** A zeroed rates object, for callers to reuse with {@link readSpendRates}. */
export function emptyRates(): SpendRates {
  return { shortUsdPerHour: 0, minuteUsd: 0, baselineUsdPerHour: 0, trusted: false };
}

function advance(s: Float64Array, headAt: number, at: number, n: number, bucket: number): number {
  const head = s[headAt] as number;
  // A clock that steps back keeps adding to the newest bucket instead of rewriting history.
  if (bucket <= head) return head;
  const gap = Math.min(bucket - head, n);
  for (let k = 1; k <= gap; k++) s[at + ((head + k) % n)] = 0;
  s[headAt] = bucket;
  return bucket;
}

/**
 * Adds a settled cost to the rings at `nowMs`. It writes the state in place: copying 560 bytes
 * per request would defeat the point of a fixed-size ring, and one runtime owns each state.
 */
export function recordSpend(
  state: SpendRateState,
  spec: SpendRateSpec,
  costPico: Pico,
  nowMs: number,
): void {
  const short = Math.floor(nowMs / spec.shortBucketMs);
  const minute = Math.floor(nowMs / spec.minuteBucketMs);
  const base = Math.floor(nowMs / spec.baseBucketMs);
  if (Number.isNaN(state[FIRST])) {
    state[FIRST] = nowMs;
    state[SHORT_HEAD] = short;
    state[MINUTE_HEAD] = minute;
    state[BASE_HEAD] = base;
  }

  const cost = Number(costPico);
  const sh = advance(state, SHORT_HEAD, SHORT_AT, SHORT_BUCKETS, short);
  const mh = advance(state, MINUTE_HEAD, MINUTE_AT, MINUTE_BUCKETS, minute);
  const bh = advance(state, BASE_HEAD, BASE_AT, BASELINE_BUCKETS, base);
  addAt(state, SHORT_AT + (sh % SHORT_BUCKETS), cost);
  addAt(state, MINUTE_AT + (mh % MINUTE_BUCKETS), cost);
  addAt(state, BASE_AT + (bh % BASELINE_BUCKETS), cost);
}

function addAt(s: Float64Array, index: number, cost: number): void {
  s[index] = (s[index] as number) + cost;
}

function sumRing(s: Float64Array, headAt: number, at: number, n: number, bucket: number): number {
  const head = s[headAt] as number;
  let total = 0;
  for (let b = Math.max(head, bucket) - n + 1; b <= head; b++) total += s[at + (b % n)] as number;
  return total;
}

function coverage(nowMs: number, bucketMs: number, n: number, elapsedMs: number): number {
  const current = nowMs - Math.floor(nowMs / bucketMs) * bucketMs;
  return Math.min(elapsedMs, (n - 1) * bucketMs + current);
}

/** Reads the rings at `nowMs` into `into` (and returns it). */
export function readSpendRates(
  state: SpendRateState,
  spec: SpendRateSpec,
  nowMs: number,
  into: SpendRates,
): SpendRates {
  const first = state[FIRST] as number;
  if (Number.isNaN(first)) {
    into.shortUsdPerHour = 0;
    into.minuteUsd = 0;
    into.baselineUsdPerHour = 0;
    into.trusted = false;
    return into;
  }

  const elapsed = Math.max(0, nowMs - first);
  const shortBucket = Math.floor(nowMs / spec.shortBucketMs);
  const minuteBucket = Math.floor(nowMs / spec.minuteBucketMs);
  const baseBucket = Math.floor(nowMs / spec.baseBucketMs);
  const short = sumRing(state, SHORT_HEAD, SHORT_AT, SHORT_BUCKETS, shortBucket);
  const minute = sumRing(state, MINUTE_HEAD, MINUTE_AT, MINUTE_BUCKETS, minuteBucket);
  const base = sumRing(state, BASE_HEAD, BASE_AT, BASELINE_BUCKETS, baseBucket);

  // The baseline leaves out the short window, so a spike does not raise its own baseline.
  const baseSpan =
    coverage(nowMs, spec.baseBucketMs, BASELINE_BUCKETS, elapsed) -
    coverage(nowMs, spec.shortBucketMs, SHORT_BUCKETS, elapsed);
  const baseOnly = Math.max(0, base - short);
  into.shortUsdPerHour = (short / PICO_PER_USD) * (MS_PER_HOUR / spec.windowMs);
  into.minuteUsd = minute / PICO_PER_USD;
  into.baselineUsdPerHour = baseSpan > 0 ? (baseOnly / PICO_PER_USD) * (MS_PER_HOUR / baseSpan) : 0;
  into.trusted = baseSpan > 0 && elapsed >= spec.baselineMs / 4;
  return into;
}

/** Whether `value` reaches `threshold`, with the float tolerance. */
export function reaches(value: number, threshold: number): boolean {
  return value >= threshold - Math.abs(threshold) * EPSILON;
}

/** Whether `value` is strictly above `floor`, with the float tolerance. */
export function exceeds(value: number, floor: number): boolean {
  return value > floor + Math.abs(floor) * EPSILON;
}

const anomalyRuleSchema = z
  .object({
    scope: guardScopeSchema,
    /** @default 10 */
    multiplier: z.number().positive().default(10),
    /** The short window. @default 5m */
    window: durationSchema.default(300_000),
    /** The baseline window. @default 24h */
    baseline: durationSchema.default(86_400_000),
    /** The absolute floor the short-window rate must be above. @default 1 */
    min_usd_per_hour: z.number().min(0).default(1),
    /** @default [] */
    channels: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((r) => r.window > 0 && r.baseline > r.window, {
    message: 'baseline must be longer than window, and window above zero',
    path: ['baseline'],
    when: whenValid('window', 'baseline'),
  });

/** The `anomaly:` section: one rule or a list of them. */
export const anomalySchema = oneOrMany(anomalyRuleSchema);

/** One anomaly rule after parsing (durations in milliseconds). */
export type AnomalyRule = z.output<typeof anomalyRuleSchema>;

/** Per scope instance: whether the current episode has already fired. */
export type AnomalyState = { readonly firing: boolean };

/** What an anomaly check found. */
export type AnomalyResult = {
  /** True only on the first check of an episode whose rate is over the threshold. */
  readonly fire: boolean;
  readonly over: boolean;
  readonly thresholdUsdPerHour: number;
  readonly next: AnomalyState;
};

const FIRING: AnomalyState = Object.freeze({ firing: true });
const ARMED: AnomalyState = Object.freeze({ firing: false });

/**
 * Checks the rates of a scope instance against a rule: over when the short-window rate is above
 * the floor and, once the baseline is trusted, at least `multiplier` × baseline. It fires once
 * per episode and re-arms when the rate falls back under the threshold. The rates are read once
 * at the instant of the check and shared with the breaker, so no clock is needed here.
 */
export function checkAnomaly(
  state: AnomalyState | undefined,
  config: AnomalyRule,
  rates: SpendRates,
): AnomalyResult {
  const relative = config.multiplier * rates.baselineUsdPerHour;
  const over =
    exceeds(rates.shortUsdPerHour, config.min_usd_per_hour) &&
    (!rates.trusted || reaches(rates.shortUsdPerHour, relative));
  const threshold = rates.trusted
    ? Math.max(config.min_usd_per_hour, relative)
    : config.min_usd_per_hour;
  const firing = state?.firing ?? false;

  return {
    fire: over && !firing,
    over,
    thresholdUsdPerHour: threshold,
    next: over ? FIRING : ARMED,
  };
}
