/**
 * What every provider's usage reader and stream meter share: safe reads of untrusted JSON and
 * the one stream-meter interface the relay drives.
 */
import type { SseBlock } from '../sse/parser.js';
import type { Usage } from './types.js';

/** How a stream ended, as the stream itself reported it. */
export type StreamStatus = 'completed' | 'incomplete' | 'failed';

/** What a metered stream reported once it is over. */
export type StreamResult = {
  /** The provider's usage, or null when the stream carried none (then the gateway estimates). */
  usage: Usage | null;
  /** The provider's finish or stop reason of the last choice seen (`stop`, `length`, ...). */
  finishReason: string | null;
  /**
   * `incomplete` when the provider cut the output at a token limit (`length`, `max_tokens`,
   * `response.incomplete`), `failed` on an error event, null when the stream said nothing.
   */
  status: StreamStatus | null;
  /** The model the stream named. */
  model: string | null;
  /** Whether the stream's end marker arrived: `[DONE]`, `message_stop` or a terminal event. */
  sawTerminator: boolean;
};

/** The per-stream usage reader the relay feeds with every parsed block, one per response. */
export interface StreamMeter {
  /** Looks at one parsed block; returns false when the block must not reach the client. */
  onBlock(block: SseBlock): boolean;
  /**
   * Whether `onBlock` might hold back this whole (terminated) block. Blocks it cannot hold back
   * may be read later, after their bytes went out (see `DeferredMeter`).
   */
  mayHold(block: SseBlock): boolean;
  /** Completion tokens counted from the deltas so far (text, tool-call arguments, reasoning). */
  countedOutputTokens(): number;
  /** What the stream reported. */
  result(): StreamResult;
  /** The bytes of a clean ending for a stream cut short by a budget, in this stream's format. */
  cutBlocks(usage: Usage): Buffer;
}

/** Counts text into tokens; the gateway passes a real tokenizer. */
export type CountTokens = (text: string) => number;

/** Narrows an unknown JSON value to a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A token count from untrusted JSON: a non-negative safe integer, else undefined, so strings,
 * negatives, fractions and NaN never reach the bigint price arithmetic.
 */
export function countOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** The first key of `keys` in `source` that holds a valid count. */
export function firstCount(source: unknown, keys: readonly string[]): number | undefined {
  if (!isRecord(source)) return undefined;
  for (const key of keys) {
    const count = countOf(source[key]);
    if (count !== undefined) return count;
  }
  return undefined;
}

/** The first key of `keys` in `source` that holds an object. */
export function firstRecord(
  source: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> | undefined {
  for (const key of keys) {
    const value = source[key];
    if (isRecord(value)) return value;
  }
  return undefined;
}

/** A non-empty string, else null. */
export function stringOf(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Parses one block's data as JSON, or returns undefined for anything that is not JSON. */
export function parseData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

/** Encodes SSE events as bytes, one `event:` line when named, one `data:` line, a blank line. */
export function sseBytes(events: readonly { event?: string; data: string }[]): Buffer {
  let text = '';
  for (const { event, data } of events) {
    text += event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
  }
  return Buffer.from(text, 'utf8');
}

/**
 * Keeps the invariant of {@link Usage} (parts inside totals) for inconsistent upstreams, so a
 * pricing step that bills `total - part` at the base rate never sees a negative remainder.
 */
export function clampParts(usage: Usage): Usage {
  const input = usage.inputTokens;
  const output = usage.outputTokens;
  usage.cachedInputTokens = Math.min(usage.cachedInputTokens, input);
  usage.cacheWriteTokens = Math.min(usage.cacheWriteTokens, input - usage.cachedInputTokens);
  usage.cacheWrite1hTokens = Math.min(usage.cacheWrite1hTokens, usage.cacheWriteTokens);
  usage.inputAudioTokens = Math.min(usage.inputAudioTokens, input);
  usage.inputImageTokens = Math.min(usage.inputImageTokens, input - usage.inputAudioTokens);
  usage.reasoningTokens = Math.min(usage.reasoningTokens, output);
  usage.outputAudioTokens = Math.min(usage.outputAudioTokens, output);
  usage.outputImageTokens = Math.min(usage.outputImageTokens, output - usage.outputAudioTokens);
  return usage;
}
