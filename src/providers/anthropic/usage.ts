/**
 * Anthropic Messages usage normalized to {@link Usage}. Anthropic's `input_tokens` counts only
 * the prompt tokens that were neither read from nor written to the cache; the two cache
 * counters come on top of it (case 2), so the normalized input total is the sum of all three.
 */
import { emptyUsage, type Usage } from '../types.js';
import { clampParts, firstCount, isRecord } from '../usage.js';

/** The counters that make up the prompt, in wire names. */
const FRESH = ['input_tokens'] as const;
const CACHE_WRITE = ['cache_creation_input_tokens'] as const;
const CACHE_READ = ['cache_read_input_tokens'] as const;
const OUTPUT = ['output_tokens'] as const;
/** The per-lifetime split of the writes, inside `cache_creation`. */
const WRITE_5M = ['ephemeral_5m_input_tokens'] as const;
const WRITE_1H = ['ephemeral_1h_input_tokens'] as const;

/**
 * Normalizes an Anthropic `usage` object (a response's, or `message_start` and `message_delta`
 * merged); null when it holds none of the token counters. Bad fields read as 0.
 */
export function anthropicUsage(usage: unknown): Usage | null {
  if (!isRecord(usage)) return null;
  const fresh = firstCount(usage, FRESH);
  const read = firstCount(usage, CACHE_READ);
  const output = firstCount(usage, OUTPUT);
  const split = isRecord(usage.cache_creation) ? usage.cache_creation : undefined;
  const write5m = firstCount(split, WRITE_5M) ?? 0;
  const write1h = firstCount(split, WRITE_1H) ?? 0;
  // Without the total, the per-lifetime split still says how many tokens were written.
  const write = firstCount(usage, CACHE_WRITE) ?? (split ? write5m + write1h : undefined);
  if (fresh === undefined && read === undefined && write === undefined && output === undefined) {
    return null;
  }

  const result = emptyUsage();
  result.inputTokens = (fresh ?? 0) + (read ?? 0) + (write ?? 0);
  result.cachedInputTokens = read ?? 0;
  result.cacheWriteTokens = write ?? 0;
  result.cacheWrite1hTokens = write1h;
  result.outputTokens = output ?? 0;

  return clampParts(result);
}
