/**
 * The stream meter for Anthropic Messages streams. Usage is split over two events:
 * `message_start` carries the prompt counters, `message_delta` the final `output_tokens`, which
 * is cumulative (a running total, not an increment), and in newer API versions the prompt
 * counters again.
 */
import type { SseBlock } from '../../sse/parser.js';
import type { Usage } from '../types.js';
import {
  countOf,
  isRecord,
  parseData,
  stringOf,
  type CountTokens,
  type StreamMeter,
  type StreamResult,
  type StreamStatus,
} from '../usage.js';
import { anthropicStreamCutBlocks } from './stream-cut.js';
import { anthropicUsage } from './usage.js';

export { anthropicStreamCutBlocks, type AnthropicCutState } from './stream-cut.js';

/** Options of an Anthropic stream meter. */
export type AnthropicStreamMeterOptions = { countTokens: CountTokens };

/** An Anthropic meter also tells the prompt counters of `message_start` on their own. */
export interface AnthropicStreamMeter extends StreamMeter {
  /**
   * The usage `message_start` reported (exact prompt and cache counters, a provisional output
   * count), for a better estimate of a stream that ended before `message_delta`.
   */
  startUsage(): Usage | null;
}

/** The generated-text field of each `content_block_delta` type. */
const DELTA_TEXT_FIELD: ReadonlyMap<string, string> = new Map([
  ['text_delta', 'text'],
  ['input_json_delta', 'partial_json'],
  ['thinking_delta', 'thinking'],
]);

/** Stop reasons that mean the output was cut at a token limit. */
const LIMIT_STOPS = new Set(['max_tokens', 'model_context_window_exceeded']);

/** Creates the meter for one Anthropic Messages stream. */
export function createAnthropicStreamMeter(
  opts: AnthropicStreamMeterOptions,
): AnthropicStreamMeter {
  return new AnthropicMeter(opts.countTokens);
}

class AnthropicMeter implements AnthropicStreamMeter {
  private id: string | null = null;
  private model: string | null = null;
  private started = false;
  private openBlock: number | null = null;
  private start: Record<string, unknown> | null = null;
  private final: Record<string, unknown> | null = null;
  private stopReason: string | null = null;
  private failed = false;
  private sawStop = false;
  private counted = 0;

  constructor(private readonly countTokens: CountTokens) {}

  onBlock(block: SseBlock): boolean {
    // A block the body ended inside is passed on only when it is a whole event (case 17 D).
    if (!block.hasData) return block.terminated;
    const json = parseData(block.data);
    if (!isRecord(json)) return block.terminated;

    const type = stringOf(json.type) ?? block.event;
    if (type === 'content_block_delta') {
      const delta = json.delta;
      if (!isRecord(delta)) return true;
      const field = typeof delta.type === 'string' ? DELTA_TEXT_FIELD.get(delta.type) : undefined;
      if (field !== undefined) this.count(delta[field]);
    } else if (type === 'content_block_start') {
      this.openBlock = countOf(json.index) ?? null;
    } else if (type === 'content_block_stop') {
      this.openBlock = null;
    } else if (type === 'message_start') {
      this.readStart(json.message);
    } else if (type === 'message_delta') {
      this.readDelta(json);
    } else if (type === 'message_stop') {
      this.sawStop = true;
    } else if (type === 'error') {
      this.failed = true;
    }
    return true;
  }

  mayHold(): boolean {
    // Every whole event of an Anthropic stream reaches the client.
    return false;
  }

  countedOutputTokens(): number {
    return this.counted;
  }

  result(): StreamResult {
    // Without `message_delta` the output count is message_start's placeholder, not usage.
    const usage = this.final ? anthropicUsage({ ...this.start, ...this.final }) : null;
    return {
      usage,
      finishReason: this.stopReason,
      status: this.status(),
      model: this.model,
      sawTerminator: this.sawStop,
    };
  }

  startUsage(): Usage | null {
    return anthropicUsage(this.start);
  }

  cutBlocks(usage: Usage): Buffer {
    return anthropicStreamCutBlocks({
      id: this.id,
      model: this.model,
      started: this.started,
      openBlock: this.openBlock,
      usage,
    });
  }

  private status(): StreamStatus | null {
    if (this.failed) return 'failed';
    if (this.stopReason !== null && LIMIT_STOPS.has(this.stopReason)) return 'incomplete';
    return this.sawStop || this.stopReason !== null ? 'completed' : null;
  }

  private readStart(message: unknown): void {
    this.started = true;
    if (!isRecord(message)) return;
    this.id = stringOf(message.id);
    this.model = stringOf(message.model);
    if (isRecord(message.usage)) this.start = message.usage;
  }

  private readDelta(json: Record<string, unknown>): void {
    if (isRecord(json.delta)) this.stopReason = stringOf(json.delta.stop_reason) ?? this.stopReason;
    const usage = json.usage;
    if (!isRecord(usage)) return;

    // Every counter here is a running total; a null one (not reported) keeps the earlier value.
    const merged: Record<string, unknown> = { ...this.final };
    for (const key of Object.keys(usage)) {
      const value = usage[key];
      if (value !== null && value !== undefined) merged[key] = value;
    }
    this.final = merged;
  }

  private count(text: unknown): void {
    if (typeof text === 'string' && text.length > 0) this.counted += this.countTokens(text);
  }
}
