/** The wire formats an upstream can speak. `openai` also covers every OpenAI-compatible server. */
export type UpstreamFormat = 'openai' | 'anthropic' | 'azure-openai';

/** The error-body dialect a route answers in. Azure and compatible servers use OpenAI's. */
export type ErrorDialect = 'openai' | 'anthropic';

/** The metered operations; anything else on an upstream is forwarded as `unmetered`. */
export type Operation = 'chat' | 'completions' | 'responses' | 'embeddings' | 'messages';

/**
 * Token usage of one request, normalized across providers. Every count is a whole number of
 * tokens, and the parts are inside their totals, never beside them:
 * - `inputTokens` is every prompt token, including cache reads and writes and audio/image;
 * - `cachedInputTokens` and `cacheWriteTokens` are the parts read from and written to the
 *   cache, and `cacheWrite1hTokens` is the part of the writes with a one-hour lifetime;
 * - `outputTokens` is every completion token, including `reasoningTokens` and audio/image.
 */
export type Usage = {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  inputAudioTokens: number;
  outputAudioTokens: number;
  inputImageTokens: number;
  outputImageTokens: number;
};

/** Where the recorded token counts came from. */
export type UsageSource = 'provider' | 'counted' | 'estimated';

/** A usage with every count at zero, to spread defaults from. */
export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    inputAudioTokens: 0,
    outputAudioTokens: 0,
    inputImageTokens: 0,
    outputImageTokens: 0,
  };
}

/**
 * A usage of only input and output tokens. Built field by field: on a cold path an object
 * spread of `emptyUsage()` cost about a microsecond.
 */
export function tokenUsage(inputTokens: number, outputTokens: number): Usage {
  return {
    inputTokens,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens,
    reasoningTokens: 0,
    inputAudioTokens: 0,
    outputAudioTokens: 0,
    inputImageTokens: 0,
    outputImageTokens: 0,
  };
}
