/**
 * Token buckets for tokens-per-minute, tokens-per-day and requests-per-minute limits, refilled
 * continuously. Token charges are reserved at admission (prompt + max output) and corrected at
 * settle, which may leave a bucket in debt when a response used more than was reserved.
 */

/** A bucket's level at an instant; a missing state is a full bucket. */
export type TokenBucketState = { readonly tokens: number; readonly updatedAtMs: number };

/** A bucket's size and refill rate. */
export type TokenBucketConfig = { readonly capacity: number; readonly refillPerMs: number };

/** The three bucket kinds, named by the reason code they reject with. */
export type BucketKind = 'tpm' | 'tpd' | 'rpm';

/** The reason code a bucket kind rejects with. */
export const BUCKET_REASONS = {
  tpm: 'tpm_exceeded',
  tpd: 'tpd_exceeded',
  rpm: 'rpm_exceeded',
} as const;

/** Bucket window lengths in seconds, the `w` of the RateLimit-Policy header. */
export const BUCKET_WINDOW_SECONDS: Record<BucketKind, number> = { tpm: 60, tpd: 86_400, rpm: 60 };

/** A bucket refilling `limit` units evenly over its window. */
export function bucketConfig(kind: BucketKind, limit: number): TokenBucketConfig {
  return { capacity: limit, refillPerMs: limit / (BUCKET_WINDOW_SECONDS[kind] * 1000) };
}

/** The outcome of charging a bucket. */
export type TokenBucketDecision = {
  readonly allowed: boolean;
  /** The state to store: charged when allowed, only refilled when not. */
  readonly next: TokenBucketState;
  /** Whole units left after the charge (before it, when rejected); never negative. */
  readonly remaining: number;
  /** Whole seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Whole seconds until this charge would fit; 0 when allowed. */
  readonly retryAfterSeconds: number;
};

/** The bucket's level at `nowMs`, refilled since its last update and capped at capacity. */
export function refill(
  state: TokenBucketState | undefined,
  config: TokenBucketConfig,
  nowMs: number,
): number {
  if (state === undefined) return config.capacity;
  const elapsed = Math.max(0, nowMs - state.updatedAtMs);
  return Math.min(config.capacity, state.tokens + elapsed * config.refillPerMs);
}

function secondsUntil(missing: number, config: TokenBucketConfig): number {
  return missing <= 0 ? 0 : Math.ceil(missing / config.refillPerMs / 1000);
}

/**
 * Charges `cost` units at `nowMs`. A charge larger than the whole bucket can never fit; it is
 * rejected with the time to a full bucket as its retry hint.
 */
export function checkTokenBucket(
  state: TokenBucketState | undefined,
  config: TokenBucketConfig,
  cost: number,
  nowMs: number,
): TokenBucketDecision {
  const tokens = refill(state, config, nowMs);

  if (cost > tokens) {
    const wait = cost > config.capacity ? config.capacity - tokens : cost - tokens;
    return {
      allowed: false,
      next: { tokens, updatedAtMs: nowMs },
      remaining: Math.max(0, Math.floor(tokens)),
      resetSeconds: secondsUntil(config.capacity - tokens, config),
      retryAfterSeconds: Math.max(1, secondsUntil(wait, config)),
    };
  }

  const left = tokens - cost;
  return {
    allowed: true,
    next: { tokens: left, updatedAtMs: nowMs },
    remaining: Math.max(0, Math.floor(left)),
    resetSeconds: secondsUntil(config.capacity - left, config),
    retryAfterSeconds: 0,
  };
}

/**
 * Corrects a reservation once the real usage is known: the unused part goes back, an overrun is
 * charged on top and may take the bucket below zero, which later requests then wait out.
 */
export function settleTokenBucket(
  state: TokenBucketState | undefined,
  config: TokenBucketConfig,
  reserved: number,
  actual: number,
  nowMs: number,
): TokenBucketState {
  const tokens = refill(state, config, nowMs) + reserved - actual;
  return { tokens: Math.min(config.capacity, tokens), updatedAtMs: nowMs };
}
