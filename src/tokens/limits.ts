import type { Operation } from '../providers/types.js';
import { isObject } from './walk.js';

/**
 * A whole, positive output limit, or undefined for anything else a client may send. 0 is no
 * limit too: some OpenAI-compatible servers read it as "unlimited", so reserving nothing for it
 * would let the answer overshoot a budget.
 */
function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** A choice count greater than 1, else 1: `n` and `best_of` only ever multiply. */
function choices(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 1 ? value : 1;
}

/**
 * The largest completion a request may produce, in tokens, for its budget reservation: the
 * client's output limit times the number of completions it asks for; 0 for embeddings; `null`
 * when the client set no limit, so the caller reserves its configured default.
 */
export function maxOutputTokens(op: Operation, body: unknown): number | null {
  if (op === 'embeddings') return 0;
  if (!isObject(body)) return null;

  switch (op) {
    case 'chat': {
      // `max_completion_tokens` replaced `max_tokens` and is the one reasoning models honour:
      // when it is given, `max_tokens` is not read, even when it is 0 (no limit).
      const given = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null;
      const limit = tokenCount(given ? body.max_completion_tokens : body.max_tokens);
      return limit === undefined ? null : limit * choices(body.n);
    }
    case 'completions': {
      // `best_of` completions are generated and billed server-side even though `n` are returned.
      const limit = tokenCount(body.max_tokens);
      return limit === undefined ? null : limit * Math.max(choices(body.n), choices(body.best_of));
    }
    case 'responses':
      return tokenCount(body.max_output_tokens) ?? null;
    case 'messages':
      return tokenCount(body.max_tokens) ?? null;
    default:
      return null;
  }
}
