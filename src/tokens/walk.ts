import type { RawCounter } from './encodings.js';

/** A JSON object as parsed from a request body. */
export type JsonObject = Record<string, unknown>;

/**
 * Per-message overhead OpenAI documents for its chat format: each message is wrapped in
 * `<|start|>{role}<|message|>...<|end|>`, worth 3 tokens beside the role and content.
 */
export const TOKENS_PER_MESSAGE = 3;

/** Extra token for a message that carries a `name`. */
export const TOKENS_PER_NAME = 1;

/** Tokens that prime the reply (`<|start|>assistant<|message|>`), once per request. */
export const REPLY_PRIMING_TOKENS = 3;

/** Per-call overhead of a tool call in an assistant message, beside its name and arguments. */
export const TOKENS_PER_TOOL_CALL = 3;

/** Nesting depth past which content is ignored, so a hostile body cannot exhaust the stack. */
export const MAX_DEPTH = 16;

/** Whether a value is a non-array object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The tokens of a value if it is a string, else 0. */
export function countString(text: RawCounter, value: unknown): number {
  return typeof value === 'string' && value.length > 0 ? text(value) : 0;
}

/**
 * The tokens of a value's JSON text (tool schemas, tool-call inputs), or 0 for `undefined` or a
 * value that cannot be serialized.
 */
export function countJson(text: RawCounter, value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') return countString(text, value);

  try {
    const json = JSON.stringify(value);
    return typeof json === 'string' ? text(json) : 0;
  } catch {
    // A cycle or a BigInt cannot come from JSON.parse; such a body is not worth counting.
    return 0;
  }
}

/**
 * The tokens of a prompt given as a string, an array of strings, a token array or an array of
 * token arrays (the `input` of Embeddings and the `prompt` of legacy Completions).
 */
export function countPromptInput(text: RawCounter, input: unknown): number {
  if (typeof input === 'string') return countString(text, input);
  if (!Array.isArray(input)) return 0;

  let tokens = 0;
  for (const item of input) {
    if (typeof item === 'string') tokens += countString(text, item);
    else if (typeof item === 'number') tokens += 1;
    else if (Array.isArray(item)) tokens += item.length;
  }
  return tokens;
}
