// Test helper: runs a stream body through the parser and a meter the way the relay will.
import type { StreamMeter } from '../providers/usage.js';
import { SseParser, terminatedRaw, type SseBlock } from './parser.js';

/** A stand-in tokenizer for tests: one token per started group of four characters. */
export const fourCharTokens = (text: string): number => Math.ceil(text.length / 4);

/** Feeds `body` in `pieceBytes` pieces; returns what the client receives and what was seen. */
export function relay(
  body: string,
  meter: StreamMeter,
  pieceBytes = 5,
): { forwarded: string; blocks: SseBlock[] } {
  const bytes = Buffer.from(body, 'utf8');
  const parser = new SseParser();
  const out: Buffer[] = [];
  const blocks: SseBlock[] = [];
  const take = (block: SseBlock): void => {
    blocks.push(block);
    if (meter.onBlock(block)) out.push(terminatedRaw(block));
  };

  for (let at = 0; at < bytes.length; at += pieceBytes) {
    for (const block of parser.push(bytes.subarray(at, at + pieceBytes))) take(block);
  }
  const last = parser.end();
  if (last) take(last);

  return { forwarded: Buffer.concat(out).toString('utf8'), blocks };
}
