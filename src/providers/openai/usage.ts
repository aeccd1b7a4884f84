/**
 * OpenAI usage objects (Chat Completions, legacy completions, Responses, Embeddings and the
 * compatible servers that copy them) normalized to {@link Usage}. On every OpenAI API the
 * details are parts of their totals: cached tokens are inside `prompt_tokens` (case 1) and
 * reasoning tokens inside `completion_tokens` (case 3). A provider `cost` field is never read:
 * a `cost: 0` next to real token counts is not evidence of a free call (case 13).
 */
import { emptyUsage, type Usage } from '../types.js';
import { clampParts, firstCount, firstRecord, isRecord } from '../usage.js';

/** Total fields: Chat/completions/embeddings names first, then the Responses API's. */
const INPUT_KEYS = ['prompt_tokens', 'input_tokens'] as const;
const OUTPUT_KEYS = ['completion_tokens', 'output_tokens'] as const;
const INPUT_DETAILS_KEYS = ['prompt_tokens_details', 'input_tokens_details'] as const;
const OUTPUT_DETAILS_KEYS = ['completion_tokens_details', 'output_tokens_details'] as const;

type Part = readonly [field: keyof Usage, keys: readonly string[]];

/** Parts of the input total, read from the input details object. */
const INPUT_PARTS: readonly Part[] = [
  ['cachedInputTokens', ['cached_tokens']],
  // OpenRouter-style compatible servers report cache writes here.
  ['cacheWriteTokens', ['cache_write_tokens', 'cache_creation_tokens']],
  ['inputAudioTokens', ['audio_tokens']],
  ['inputImageTokens', ['image_tokens']],
];

/** Parts of the output total, read from the output details object. */
const OUTPUT_PARTS: readonly Part[] = [
  ['reasoningTokens', ['reasoning_tokens']],
  ['outputAudioTokens', ['audio_tokens']],
  ['outputImageTokens', ['image_tokens']],
];

/** DeepSeek-style compatible servers put the cache-hit count at the top level instead. */
const TOP_LEVEL_CACHED_KEYS = ['prompt_cache_hit_tokens'] as const;

/**
 * Normalizes an OpenAI-format `usage` object; null when it holds neither an input nor an
 * output count. Bad fields read as 0, and every part is clamped inside its total.
 */
export function openaiUsage(usage: unknown): Usage | null {
  if (!isRecord(usage)) return null;
  const input = firstCount(usage, INPUT_KEYS);
  const output = firstCount(usage, OUTPUT_KEYS);
  if (input === undefined && output === undefined) return null;

  const result = emptyUsage();
  result.inputTokens = input ?? 0;
  result.outputTokens = output ?? 0;
  readParts(result, firstRecord(usage, INPUT_DETAILS_KEYS), INPUT_PARTS);
  readParts(result, firstRecord(usage, OUTPUT_DETAILS_KEYS), OUTPUT_PARTS);
  if (result.cachedInputTokens === 0) {
    result.cachedInputTokens = firstCount(usage, TOP_LEVEL_CACHED_KEYS) ?? 0;
  }

  return clampParts(result);
}

function readParts(
  into: Usage,
  details: Record<string, unknown> | undefined,
  parts: readonly Part[],
): void {
  if (!details) return;
  for (const [field, keys] of parts) into[field] = firstCount(details, keys) ?? 0;
}
