/**
 * Stream meters for OpenAI-format streams: Chat Completions and legacy completions chunks
 * (usage in the last chunk when `stream_options.include_usage` is set) and Responses API
 * events (usage only inside the terminal event's `response`, case 9).
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
import { readTextChunk, readUsageChunk } from './plain-chunk.js';
import { openAiStreamCutBlocks, type OpenAiStreamOp } from './stream-cut.js';
import { openaiUsage } from './usage.js';

export { openAiStreamCutBlocks, type OpenAiCutState, type OpenAiStreamOp } from './stream-cut.js';

/** Options of an OpenAI stream meter. */
export type OpenAiStreamMeterOptions = {
  /** The gateway added `include_usage` for a client that did not ask: hide the usage chunk. */
  hideUsageChunk: boolean;
  countTokens: CountTokens;
};

/** Generated text fields of a chat `delta` (`reasoning*` from compatible servers). */
const CHAT_DELTA_TEXT = ['content', 'refusal', 'reasoning_content', 'reasoning'] as const;

/** Responses events whose `delta` string is generated output. */
const RESPONSES_DELTA_EVENTS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.mcp_call_arguments.delta',
  'response.code_interpreter_call_code.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'response.audio.transcript.delta',
]);

/** Responses events that end the stream, with the status they report. */
const RESPONSES_TERMINAL: ReadonlyMap<string, StreamStatus> = new Map([
  ['response.completed', 'completed'],
  ['response.incomplete', 'incomplete'],
  ['response.failed', 'failed'],
]);

/** Creates the meter for one OpenAI-format stream of the given operation. */
export function createOpenAiStreamMeter(
  op: OpenAiStreamOp,
  opts: OpenAiStreamMeterOptions,
): StreamMeter {
  return op === 'responses' ? new ResponsesMeter(opts.countTokens) : new ChunkMeter(op, opts);
}

/** State both OpenAI meters keep. */
abstract class OpenAiMeter implements StreamMeter {
  protected id: string | null = null;
  protected model: string | null = null;
  protected usage: Usage | null = null;
  protected finishReason: string | null = null;
  protected status: StreamStatus | null = null;
  protected sawTerminator = false;
  protected counted = 0;
  protected created: number | null = null;
  protected lastSequence: number | null = null;
  protected maxIndex = 0;

  constructor(
    protected readonly op: OpenAiStreamOp,
    private readonly countTokens: CountTokens,
  ) {}

  onBlock(block: SseBlock): boolean {
    // A block the body ended inside is passed on only when it is a whole event (case 17 D).
    if (!block.hasData) return block.terminated;
    if (block.data === '[DONE]') {
      this.sawTerminator = true;
      return true;
    }

    const json = parseData(block.data);
    if (!isRecord(json)) return block.terminated;
    return this.onJson(json, block);
  }

  mayHold(_block: SseBlock): boolean {
    return false;
  }

  countedOutputTokens(): number {
    return this.counted;
  }

  result(): StreamResult {
    return {
      usage: this.usage,
      finishReason: this.finishReason,
      status: this.status,
      model: this.model,
      sawTerminator: this.sawTerminator,
    };
  }

  cutBlocks(usage: Usage): Buffer {
    return openAiStreamCutBlocks(this.op, {
      id: this.id,
      model: this.model,
      created: this.created,
      lastSequence: this.lastSequence,
      choices: this.maxIndex + 1,
      usage,
    });
  }

  protected abstract onJson(json: Record<string, unknown>, block: SseBlock): boolean;

  protected count(text: unknown): void {
    if (typeof text === 'string' && text.length > 0) this.counted += this.countTokens(text);
  }
}

/** Chat Completions and legacy completions chunks. */
class ChunkMeter extends OpenAiMeter {
  private readonly hideUsageChunk: boolean;

  constructor(op: 'chat' | 'completions', opts: OpenAiStreamMeterOptions) {
    super(op, opts.countTokens);
    this.hideUsageChunk = opts.hideUsageChunk;
  }

  /**
   * Only the usage chunk is held back, when the gateway asked for it: a chunk whose text names
   * no `usage` (in JSON a quote inside a string is escaped, so `usage` as a key is this text
   * unless the key itself is written with `\u` escapes) is not it.
   */
  override mayHold(block: SseBlock): boolean {
    return this.hideUsageChunk && (block.data.includes('usage') || block.data.includes('\\u'));
  }

  override onBlock(block: SseBlock): boolean {
    // Chunks in OpenAI's own shapes (nearly all of a plain text answer) are read without a
    // parse, with the same effect as `onJson` on the parsed chunk.
    if (this.op === 'chat' && block.terminated) {
      const text = readTextChunk(block.data);
      if (text !== null) {
        this.onHead(text);
        if (text.finishReason !== null) this.finishReason = text.finishReason;
        this.count(text.content);
        return true;
      }
      const usage = readUsageChunk(block.data);
      if (usage !== null) {
        this.onHead(usage);
        this.usage = openaiUsage(usage.usage) ?? this.usage;
        return !this.hideUsageChunk;
      }
    }
    return super.onBlock(block);
  }

  protected onJson(json: Record<string, unknown>): boolean {
    this.onHead({ id: json.id, model: json.model, created: json.created });
    if (isRecord(json.error)) {
      this.status = 'failed';
      return true;
    }

    const usage = isRecord(json.usage) ? json.usage : null;
    // Compatible servers that repeat cumulative usage on every chunk end on the final figure.
    if (usage) this.usage = openaiUsage(usage) ?? this.usage;
    const choices = json.choices;
    if (!Array.isArray(choices)) return true;
    for (const choice of choices) this.readChoice(choice);

    // Only the `choices: []` chunk that carries usage is hidden; Azure's empty-choices
    // `prompt_filter_results` chunk has no usage and passes.
    return !(this.hideUsageChunk && usage !== null && choices.length === 0);
  }

  override result(): StreamResult {
    const result = super.result();
    if (result.status === null && (this.finishReason !== null || this.sawTerminator)) {
      result.status = this.finishReason === 'length' ? 'incomplete' : 'completed';
    }
    return result;
  }

  /** Keeps the first id, model and time the stream gives. */
  private onHead(head: { id: unknown; model: unknown; created: unknown }): void {
    this.id ??= stringOf(head.id);
    // Azure's first chunk names no model (`""`), so the first non-empty one is kept.
    this.model ??= stringOf(head.model);
    this.created ??= countOf(head.created) ?? null;
  }

  private readChoice(choice: unknown): void {
    if (!isRecord(choice)) return;
    const index = countOf(choice.index);
    if (index !== undefined && index > this.maxIndex) this.maxIndex = index;
    const finish = stringOf(choice.finish_reason);
    if (finish !== null) this.finishReason = finish;

    if (this.op === 'completions') {
      this.count(choice.text);
      return;
    }
    const delta = choice.delta;
    if (!isRecord(delta)) return;
    for (const key of CHAT_DELTA_TEXT) this.count(delta[key]);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) if (isRecord(call)) this.countFunction(call.function);
    }
    this.countFunction(delta.function_call);
  }

  private countFunction(fn: unknown): void {
    if (!isRecord(fn)) return;
    this.count(fn.name);
    this.count(fn.arguments);
  }
}

/** Responses API events. */
class ResponsesMeter extends OpenAiMeter {
  constructor(countTokens: CountTokens) {
    super('responses', countTokens);
  }

  protected onJson(json: Record<string, unknown>, block: SseBlock): boolean {
    const type = stringOf(json.type) ?? block.event;
    this.lastSequence = countOf(json.sequence_number) ?? this.lastSequence;
    if (type === null) return true;

    if (RESPONSES_DELTA_EVENTS.has(type)) {
      this.count(json.delta);
      return true;
    }
    const terminal = RESPONSES_TERMINAL.get(type);
    if (terminal !== undefined) {
      this.status = terminal;
      this.sawTerminator = true;
      this.readResponse(json.response);
    } else if (type === 'response.created' || type === 'response.in_progress') {
      this.readResponse(json.response);
    } else if (type === 'error') {
      this.status = 'failed';
    }
    return true;
  }

  private readResponse(response: unknown): void {
    if (!isRecord(response)) return;
    this.id = stringOf(response.id) ?? this.id;
    this.model = stringOf(response.model) ?? this.model;
    this.usage = openaiUsage(response.usage) ?? this.usage;
    const details = response.incomplete_details;
    if (isRecord(details)) this.finishReason = stringOf(details.reason) ?? this.finishReason;
  }
}
