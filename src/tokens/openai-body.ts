import type { RawCounter } from './encodings.js';
import { audioTokens, documentTokens, openAiImageTokens } from './media.js';
import {
  countJson,
  countPromptInput,
  countString,
  isObject,
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_NAME,
  TOKENS_PER_TOOL_CALL,
  type JsonObject,
} from './walk.js';

/**
 * The tokens of one content part, shared by Chat Completions (`text`, `image_url`,
 * `input_audio`, `file`, `refusal`) and Responses (`input_text`, `output_text`,
 * `input_image`, `input_file`).
 */
function countPart(text: RawCounter, part: unknown): number {
  if (typeof part === 'string') return countString(text, part);
  if (!isObject(part)) return 0;

  switch (part.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return countString(text, part.text);
    case 'refusal':
      return countString(text, part.refusal);
    case 'image_url':
      return openAiImageTokens(isObject(part.image_url) ? part.image_url.detail : undefined);
    case 'input_image':
      return openAiImageTokens(part.detail);
    case 'input_audio': {
      const audio = isObject(part.input_audio) ? part.input_audio : part;
      return audioTokens(audio.data, audio.format);
    }
    case 'file':
      return documentTokens(isObject(part.file) ? part.file.file_data : undefined);
    case 'input_file':
      return documentTokens(part.file_data);
    default:
      return countString(text, part.text);
  }
}

/** The tokens of a `content` value: a string, an array of parts, or nothing. */
function countContent(text: RawCounter, content: unknown): number {
  if (typeof content === 'string') return countString(text, content);
  if (!Array.isArray(content)) return 0;

  let tokens = 0;
  for (const part of content) tokens += countPart(text, part);
  return tokens;
}

/** The tokens of the `tool_calls` (and legacy `function_call`) of an assistant message. */
function countToolCalls(text: RawCounter, message: JsonObject): number {
  let tokens = 0;

  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isObject(call)) continue;
      const fn = isObject(call.function) ? call.function : isObject(call.custom) ? call.custom : {};
      tokens += TOKENS_PER_TOOL_CALL + countString(text, fn.name);
      tokens += countString(text, fn.arguments) + countString(text, fn.input);
    }
  }

  if (isObject(message.function_call)) {
    tokens += TOKENS_PER_TOOL_CALL + countString(text, message.function_call.name);
    tokens += countString(text, message.function_call.arguments);
  }
  return tokens;
}

/** Prompt tokens of a Chat Completions body, with OpenAI's per-message overhead. */
export function countChatBody(text: RawCounter, body: JsonObject): number {
  let tokens = REPLY_PRIMING_TOKENS;

  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isObject(message)) continue;
      tokens += TOKENS_PER_MESSAGE + countString(text, message.role);
      tokens += countContent(text, message.content);
      if (typeof message.name === 'string') {
        tokens += TOKENS_PER_NAME + countString(text, message.name);
      }
      tokens += countToolCalls(text, message);
    }
  }

  // The model sees tool and function definitions, and a structured-output schema, as prompt.
  tokens += countJson(text, body.tools) + countJson(text, body.functions);
  if (isObject(body.response_format)) tokens += countJson(text, body.response_format.json_schema);
  return tokens;
}

/** The tokens of one item of a Responses `input` array. */
function countResponsesItem(text: RawCounter, item: unknown): number {
  if (typeof item === 'string') return countString(text, item);
  if (!isObject(item)) return 0;

  switch (item.type) {
    case 'function_call':
    case 'custom_tool_call':
      return (
        TOKENS_PER_TOOL_CALL +
        countString(text, item.name) +
        countString(text, item.arguments) +
        countString(text, item.input)
      );
    case 'function_call_output':
    case 'custom_tool_call_output':
      return TOKENS_PER_MESSAGE + countContent(text, item.output);
    case 'reasoning': {
      // Encrypted reasoning cannot be counted here; its summary is what is readable.
      if (!Array.isArray(item.summary)) return 0;
      let tokens = 0;
      for (const part of item.summary) tokens += countPart(text, part);
      return tokens;
    }
    default:
      return TOKENS_PER_MESSAGE + countString(text, item.role) + countContent(text, item.content);
  }
}

/** Prompt tokens of a Responses body: `instructions`, `input` and `tools`. */
export function countResponsesBody(text: RawCounter, body: JsonObject): number {
  // TODO: a `previous_response_id` continues a stored conversation whose tokens the provider
  // bills as input but the gateway cannot see; meanwhile only this request's own input counts.
  let tokens = REPLY_PRIMING_TOKENS;

  if (typeof body.instructions === 'string') {
    tokens += TOKENS_PER_MESSAGE + countString(text, body.instructions);
  }

  if (typeof body.input === 'string') {
    tokens += TOKENS_PER_MESSAGE + countString(text, body.input);
  } else if (Array.isArray(body.input)) {
    for (const item of body.input) tokens += countResponsesItem(text, item);
  }

  return tokens + countJson(text, body.tools);
}

/** Prompt tokens of an Embeddings body: only the input, with no chat overhead. */
export function countEmbeddingsBody(text: RawCounter, body: JsonObject): number {
  return countPromptInput(text, body.input);
}

/** Prompt tokens of a legacy Completions body: `prompt` and `suffix`. */
export function countCompletionsBody(text: RawCounter, body: JsonObject): number {
  return countPromptInput(text, body.prompt) + countString(text, body.suffix);
}
