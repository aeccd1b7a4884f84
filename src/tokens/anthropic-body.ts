import type { RawCounter } from './encodings.js';
import { ANTHROPIC_IMAGE_TOKENS, documentTokens } from './media.js';
import {
  countJson,
  countString,
  isObject,
  MAX_DEPTH,
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_TOOL_CALL,
  type JsonObject,
} from './walk.js';

/**
 * Tokens of the system prompt Anthropic adds when a request has tools (346 for `auto` and
 * `none` on current Claude models, per its tool-use pricing notes).
 */
export const ANTHROPIC_TOOL_SYSTEM_TOKENS = 346;

/** The tokens of a `document` block's source: text, nested content, or a base64 PDF. */
function countDocument(text: RawCounter, block: JsonObject, depth: number): number {
  const source = isObject(block.source) ? block.source : {};
  const extra = countString(text, block.title) + countString(text, block.context);

  switch (source.type) {
    case 'text':
      return extra + countString(text, source.data);
    case 'content':
      return extra + countBlocks(text, source.content, depth + 1);
    case 'base64':
      return extra + documentTokens(source.data);
    default:
      return extra + documentTokens(undefined);
  }
}

/** The tokens of one content block. */
function countBlock(text: RawCounter, block: unknown, depth: number): number {
  if (typeof block === 'string') return countString(text, block);
  if (!isObject(block)) return 0;

  switch (block.type) {
    case 'text':
      return countString(text, block.text);
    case 'image':
      return ANTHROPIC_IMAGE_TOKENS;
    case 'document':
      return countDocument(text, block, depth);
    case 'tool_use':
    case 'server_tool_use':
      return TOKENS_PER_TOOL_CALL + countString(text, block.name) + countJson(text, block.input);
    case 'tool_result':
      return TOKENS_PER_TOOL_CALL + countBlocks(text, block.content, depth + 1);
    case 'thinking':
      return countString(text, block.thinking);
    case 'search_result':
      return countString(text, block.title) + countBlocks(text, block.content, depth + 1);
    default:
      return countString(text, block.text);
  }
}

/** The tokens of a content value: a string or an array of blocks. */
function countBlocks(text: RawCounter, content: unknown, depth: number): number {
  if (typeof content === 'string') return countString(text, content);
  if (!Array.isArray(content) || depth > MAX_DEPTH) return 0;

  let tokens = 0;
  for (const block of content) tokens += countBlock(text, block, depth);
  return tokens;
}

/** Prompt tokens of an Anthropic Messages body: `system`, `messages` and `tools`. */
export function countMessagesBody(text: RawCounter, body: JsonObject): number {
  let tokens = REPLY_PRIMING_TOKENS + countBlocks(text, body.system, 0);

  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isObject(message)) continue;
      tokens += TOKENS_PER_MESSAGE + countString(text, message.role);
      tokens += countBlocks(text, message.content, 0);
    }
  }

  if (Array.isArray(body.tools) && body.tools.length > 0) {
    tokens += ANTHROPIC_TOOL_SYSTEM_TOKENS + countJson(text, body.tools);
  }
  return tokens;
}
