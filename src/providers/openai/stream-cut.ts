/**
 * Clean endings for OpenAI-format streams that a budget cuts short: what the client would have
 * seen had the model hit its output limit there (SPEC "Budgets and enforcement").
 */
import type { Usage } from '../types.js';
import { sseBytes } from '../usage.js';

/** The metered OpenAI stream operations. */
export type OpenAiStreamOp = 'chat' | 'completions' | 'responses';

/** What a cut ending needs to know of the stream so far; ids and model are the stream's own. */
export type OpenAiCutState = {
  /** The stream's chunk or response id, when one was seen. */
  id: string | null;
  model: string | null;
  /** The chunks' `created` (Unix seconds), when seen. */
  created: number | null;
  /** The last Responses `sequence_number` seen. */
  lastSequence: number | null;
  /** How many choices the stream had (the highest `index` + 1), at least 1. */
  choices: number;
  /** The usage to report: the gateway's counts up to the cut. */
  usage: Usage;
};

const FALLBACK_ID = 'spendgate-cut';

/** Usage in Chat Completions wire names; details are parts of the totals, as OpenAI sends them. */
export function chatWireUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: {
      cached_tokens: usage.cachedInputTokens,
      audio_tokens: usage.inputAudioTokens,
    },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoningTokens,
      audio_tokens: usage.outputAudioTokens,
    },
  };
}

/** Usage in Responses API wire names. */
export function responsesWireUsage(usage: Usage): Record<string, unknown> {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/**
 * The bytes that end a cut stream: for chat and legacy completions one final chunk with
 * `finish_reason: "length"` on every choice and a `usage` object, then `data: [DONE]`; for the
 * Responses API a `response.incomplete` event with reason `max_output_tokens` and usage.
 */
export function openAiStreamCutBlocks(op: OpenAiStreamOp, state: OpenAiCutState): Buffer {
  const id = state.id ?? FALLBACK_ID;
  const model = state.model ?? '';

  if (op === 'responses') {
    // TODO: output items already streamed are not repeated in `output`; clients that rebuild
    // the response from the terminal event alone see it empty, those that fold deltas do not.
    const event = {
      type: 'response.incomplete',
      sequence_number: state.lastSequence === null ? 0 : state.lastSequence + 1,
      response: {
        id,
        object: 'response',
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        model,
        output: [],
        usage: responsesWireUsage(state.usage),
      },
    };
    return sseBytes([{ event: 'response.incomplete', data: JSON.stringify(event) }]);
  }

  const choices: Record<string, unknown>[] = [];
  for (let index = 0; index < Math.max(1, state.choices); index += 1) {
    choices.push(
      op === 'chat'
        ? { index, delta: {}, logprobs: null, finish_reason: 'length' }
        : { text: '', index, logprobs: null, finish_reason: 'length' },
    );
  }
  const chunk = {
    id,
    object: op === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: state.created ?? 0,
    model,
    choices,
    usage: chatWireUsage(state.usage),
  };
  return sseBytes([{ data: JSON.stringify(chunk) }, { data: '[DONE]' }]);
}
