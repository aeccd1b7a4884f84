import type { Refusal } from '../engine/types.js';
import { picoToDecimal } from '../money/money.js';
import type { RequestDims } from '../policy/scope.js';

/** The prompt and output tokens a reservation was worked out from, for its message. */
export type Counted = { input: number; maxOutput: number };

const BUCKET_LABELS = {
  tpm: 'tokens-per-minute',
  tpd: 'tokens-per-day',
  rpm: 'requests-per-minute',
} as const;

/**
 * The words of a policy's refusal. They name only the dimensions the policy is scoped to, and
 * when the request's worst case alone is more than the policy can hold, they say so: waiting
 * for the period to reset would not help, a lower max_tokens would.
 */
export function refusalMessage(refusal: Refusal, dims: RequestDims, counted?: Counted): string {
  if (refusal.kind === 'kill_switch') {
    const notes = [
      ...(refusal.reason ? [`reason: ${refusal.reason}`] : []),
      ...(refusal.expiresAtMs !== null
        ? [`until ${new Date(refusal.expiresAtMs).toISOString()}`]
        : []),
    ];
    const on = `${refusal.dimension} "${refusal.value}"`;
    return `blocked by a kill switch on ${on}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
  }

  const who = scopeText(refusal.scopeKeys, dims);
  const tokens = counted
    ? `${counted.input} prompt tokens + up to ${counted.maxOutput} output tokens`
    : null;
  if (refusal.kind === 'rate_limit') {
    const head = `${BUCKET_LABELS[refusal.bucket]} limit "${refusal.name}"${who ? ` for ${who}` : ''}`;
    if (refusal.bucket === 'rpm' || refusal.asked <= refusal.capacity) return `${head} exceeded`;
    return (
      `${head}: this request's worst case (${refusal.asked} tokens${tokens ? `: ${tokens}` : ''}) ` +
      `is more than the whole limit of ${refusal.capacity} tokens; set max_tokens lower`
    );
  }

  const head = `budget "${refusal.name}"${who ? ` for ${who}` : ''}`;
  if (refusal.leftPico === 0n) return `${head} exceeded: nothing left until the period resets`;
  const worst = `${picoToDecimal(refusal.askedPico)} USD${tokens ? `: ${tokens}` : ''}`;
  // A reject stage below 100% refuses a request that reaches it; the limit itself is allowed.
  const never =
    refusal.rejectAt < 100
      ? refusal.askedPico >= refusal.wholePico
      : refusal.askedPico > refusal.wholePico;
  if (never) {
    const stage =
      refusal.rejectAt < 100
        ? ` (its reject stage, ${refusal.rejectAt}% of ${picoToDecimal(refusal.limitPico)} USD)`
        : '';
    return (
      `${head}: this request's worst case (${worst}) is more than the whole limit of ` +
      `${picoToDecimal(refusal.wholePico)} USD${stage}, so it can never pass; set max_tokens lower`
    );
  }
  return (
    `${head}: this request's worst case (${worst}) is more than the ` +
    `${picoToDecimal(refusal.leftPico)} USD left; set max_tokens lower, or retry when the period resets`
  );
}

/** `org "acme", tag:app "rag"`: the request's value of each dimension a policy is scoped to. */
function scopeText(keys: readonly string[], dims: RequestDims): string {
  return keys
    .map((key) => {
      const value = key.startsWith('tag:')
        ? dims.tags?.[key.slice(4)]
        : (dims[key as keyof Omit<RequestDims, 'tags'>] as string | undefined);
      return `${key} "${value ?? ''}"`;
    })
    .join(', ');
}
