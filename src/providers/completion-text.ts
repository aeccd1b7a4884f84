import type { Operation } from './types.js';
import { isRecord as isObject } from './usage.js';

/**
 * The generated text of a non-streamed response, for counting completion tokens when the
 * provider reports no usage. Tool-call arguments and reasoning text are generated tokens too.
 */
export function completionText(op: Operation, body: unknown): string {
  if (!isObject(body)) return '';
  const parts: string[] = [];
  switch (op) {
    case 'chat':
      for (const choice of arrayOf(body.choices)) {
        const message = isObject(choice) ? choice.message : undefined;
        if (!isObject(message)) continue;
        pushText(parts, message.content);
        pushText(parts, message.reasoning_content);
        for (const call of arrayOf(message.tool_calls)) {
          if (isObject(call) && isObject(call.function)) pushText(parts, call.function.arguments);
        }
      }
      break;
    case 'completions':
      for (const choice of arrayOf(body.choices))
        if (isObject(choice)) pushText(parts, choice.text);
      break;
    case 'responses':
      for (const item of arrayOf(body.output)) {
        if (!isObject(item)) continue;
        pushText(parts, item.arguments);
        for (const content of arrayOf(item.content))
          if (isObject(content)) pushText(parts, content.text);
        for (const summary of arrayOf(item.summary))
          if (isObject(summary)) pushText(parts, summary.text);
      }
      break;
    case 'messages':
      for (const block of arrayOf(body.content)) {
        if (!isObject(block)) continue;
        pushText(parts, block.text);
        pushText(parts, block.thinking);
        if (block.input !== undefined) parts.push(JSON.stringify(block.input));
      }
      break;
    case 'embeddings':
      break;
  }
  return parts.join('');
}

function pushText(parts: string[], value: unknown): void {
  if (typeof value === 'string') parts.push(value);
  else if (Array.isArray(value)) for (const v of value) if (isObject(v)) pushText(parts, v.text);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
