/**
 * The clean ending of an Anthropic Messages stream that a budget cuts short: what the client
 * would have seen had the model reached `max_tokens` there.
 */
import type { Usage } from '../types.js';
import { sseBytes } from '../usage.js';

/** What a cut ending needs to know of the stream so far. */
export type AnthropicCutState = {
  /** The message id and model from `message_start`, when it was seen. */
  id: string | null;
  model: string | null;
  /** Whether `message_start` reached the client; if not, the ending starts with one. */
  started: boolean;
  /** The index of a content block started and not yet stopped. */
  openBlock: number | null;
  /** The usage to report: the gateway's counts up to the cut. */
  usage: Usage;
};

/**
 * Usage in Anthropic wire names: `input_tokens` is only the part neither read from nor written
 * to the cache, so reading it back with `anthropicUsage` gives the same totals.
 */
export function anthropicWireUsage(usage: Usage): Record<string, unknown> {
  const fresh = usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens;
  return {
    input_tokens: Math.max(0, fresh),
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    output_tokens: usage.outputTokens,
  };
}

/**
 * The bytes that end a cut stream: `content_block_stop` for an open block, a `message_delta`
 * with `stop_reason: "max_tokens"` and usage, then `message_stop`.
 */
export function anthropicStreamCutBlocks(state: AnthropicCutState): Buffer {
  const events: { event: string; data: string }[] = [];
  const usage = anthropicWireUsage(state.usage);

  if (!state.started) {
    // SDKs reject a `message_delta` that no `message_start` came before.
    const message = {
      id: state.id ?? 'msg_spendgate_cut',
      type: 'message',
      role: 'assistant',
      model: state.model ?? '',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 0 },
    };
    const start = { type: 'message_start', message };
    events.push({ event: 'message_start', data: JSON.stringify(start) });
  }
  if (state.openBlock !== null) {
    const stop = { type: 'content_block_stop', index: state.openBlock };
    events.push({ event: 'content_block_stop', data: JSON.stringify(stop) });
  }
  const delta = {
    type: 'message_delta',
    delta: { stop_reason: 'max_tokens', stop_sequence: null },
    usage,
  };
  events.push({ event: 'message_delta', data: JSON.stringify(delta) });
  events.push({ event: 'message_stop', data: '{"type":"message_stop"}' });

  return sseBytes(events);
}
