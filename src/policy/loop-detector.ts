/**
 * Loop detection: the same request (scope values, path, model and canonical body without the
 * ignored fields) seen `threshold` times within `window` gets warned, throttled or rejected.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import { whenValid } from '../config/when-valid.js';
import { guardScopeSchema, oneOrMany } from './anomaly.js';

const loopRuleSchema = z
  .object({
    scope: guardScopeSchema,
    /** @default 60s */
    window: durationSchema.default(60_000),
    /** Identical requests within the window that count as a loop. @default 10 */
    threshold: z.number().int().min(2).max(1000).default(10),
    /** @default reject */
    action: z.enum(['warn', 'throttle', 'reject']).default('reject'),
    /** The delay of a throttled request. @default 1000 */
    delay_ms: z.number().int().min(0).default(1000),
    /** Body keys left out of the fingerprint, at any depth. @default [] */
    ignore_fields: z.array(z.string().min(1)).default([]),
    /** Alert channels told about each detection. @default [] */
    channels: z.array(z.string()).default([]),
  })
  .strict()
  .refine((r) => r.window > 0, {
    message: 'window must be above zero',
    path: ['window'],
    when: whenValid('window'),
  });

/** The `loop_detection:` section: one rule or a list of them. */
export const loopDetectionSchema = oneOrMany(loopRuleSchema);

/** One loop rule after parsing (durations in milliseconds). */
export type LoopRule = z.output<typeof loopRuleSchema>;

function writeCanonical(value: unknown, ignore: ReadonlySet<string>): string {
  if (value === null || typeof value !== 'object') {
    // undefined and functions cannot come from JSON; they are written as null to stay total.
    return value === undefined || typeof value === 'function' ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      out += (i === 0 ? '' : ',') + writeCanonical(value[i], ignore);
    }
    return out + ']';
  }

  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    if (ignore.has(key) || record[key] === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + writeCanonical(record[key], ignore);
    first = false;
  }
  return out + '}';
}

/** JSON with keys sorted and the ignored keys removed at every depth, so key order never counts. */
export function canonicalJson(value: unknown, ignore: ReadonlySet<string>): string {
  return writeCanonical(value, ignore);
}

/**
 * The fingerprint of one request: sha1 over the scope instance, path, model and canonical body.
 * NUL separators keep `("a", "bc")` apart from `("ab", "c")`.
 */
export function loopFingerprint(
  scopeJoined: string,
  path: string,
  model: string | null,
  canonicalBody: string,
): string {
  return hash(
    'sha1',
    `${scopeJoined}\u0000${path}\u0000${model ?? ''}\u0000${canonicalBody}`,
    'base64',
  );
}

// Layout of a fingerprint's entry: the next slot, the end of the current detection, then the
// times of the last `threshold` hits as a ring.
const NEXT = 0;
const ACTIVE_UNTIL = 1;
const TIMES_AT = 2;

/** The last `threshold` hit times of one fingerprint, in a fixed-size array. */
export type LoopEntry = Float64Array;

/** A fingerprint entry with no hits yet. */
export function newLoopEntry(config: LoopRule): LoopEntry {
  const entry = new Float64Array(TIMES_AT + config.threshold);
  entry.fill(Number.NEGATIVE_INFINITY, TIMES_AT);
  return entry;
}

/** What one hit of a fingerprint found. */
export type LoopHit = {
  /** Whether the rule's action applies to this request. */
  readonly active: boolean;
  /** Whether this hit is a new detection (the first crossing in a window): an event. */
  readonly detected: boolean;
  /** Whole seconds until the action stops applying if the repeats stop. */
  readonly retryAfterSeconds: number;
};

const QUIET: LoopHit = Object.freeze({ active: false, detected: false, retryAfterSeconds: 0 });

/**
 * Records one hit at `nowMs`, in place (the entry is a fixed-size ring). The action applies from
 * the hit that makes `threshold` within the window and to the repeats until a window passes.
 */
export function recordLoopHit(entry: LoopEntry, config: LoopRule, nowMs: number): LoopHit {
  const slot = entry[NEXT] as number;
  entry[TIMES_AT + slot] = nowMs;
  const next = (slot + 1) % config.threshold;
  entry[NEXT] = next;

  // The slot written next holds the oldest of the last `threshold` hits.
  const oldest = entry[TIMES_AT + next] as number;
  const crossing = oldest > nowMs - config.window;
  const activeUntil = entry[ACTIVE_UNTIL] as number;
  const stillActive = nowMs < activeUntil;
  if (!crossing && !stillActive) return QUIET;

  const detected = crossing && !stillActive;
  const until = detected ? nowMs + config.window : activeUntil;
  if (detected) entry[ACTIVE_UNTIL] = until;
  return {
    active: true,
    detected,
    retryAfterSeconds: Math.max(1, Math.ceil((until - nowMs) / 1000)),
  };
}

/** How many of the recorded hits fall within the window ending at `nowMs`. */
export function loopHitCount(entry: LoopEntry, config: LoopRule, nowMs: number): number {
  let count = 0;
  for (let i = TIMES_AT; i < entry.length; i++) {
    if ((entry[i] as number) > nowMs - config.window) count++;
  }
  return count;
}
