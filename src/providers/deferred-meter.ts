import type { SseBlock } from '../sse/parser.js';
import type { Usage } from './types.js';
import type { StreamMeter, StreamResult } from './usage.js';

/** Blocks kept unread at most, so a long stream is read in steps and holds little memory. */
const MAX_WAITING = 32;

/**
 * A stream meter that reads blocks late. A whole block the meter cannot hold back (nearly every
 * one) is passed on at once, and its JSON is parsed when a figure is asked for (the end of the
 * stream) or after `MAX_WAITING` blocks: the client gets each event without waiting for its
 * parse, and a lightly loaded gateway parses a stream's events in one go instead of once per
 * wake-up. Every block still reaches the meter, in order, before any figure is read. Not for a
 * stream a budget may cut: that check needs the figures after every read.
 */
export class DeferredMeter implements StreamMeter {
  private waiting: SseBlock[] = [];

  constructor(private readonly meter: StreamMeter & { startUsage?(): Usage | null }) {}

  onBlock(block: SseBlock): boolean {
    if (block.terminated && !this.meter.mayHold(block)) {
      this.waiting.push(block);
      if (this.waiting.length >= MAX_WAITING) this.catchUp();
      return true;
    }
    this.catchUp();
    return this.meter.onBlock(block);
  }

  mayHold(block: SseBlock): boolean {
    return this.meter.mayHold(block);
  }

  countedOutputTokens(): number {
    this.catchUp();
    return this.meter.countedOutputTokens();
  }

  result(): StreamResult {
    this.catchUp();
    return this.meter.result();
  }

  cutBlocks(usage: Usage): Buffer {
    this.catchUp();
    return this.meter.cutBlocks(usage);
  }

  /** The prompt usage an Anthropic stream reported at its start, when the meter reads one. */
  startUsage(): Usage | null {
    this.catchUp();
    return this.meter.startUsage?.() ?? null;
  }

  private catchUp(): void {
    if (this.waiting.length === 0) return;
    const blocks = this.waiting;
    this.waiting = [];
    // A block the meter cannot hold back is passed on whatever `onBlock` says of it now.
    for (const block of blocks) this.meter.onBlock(block);
  }
}
