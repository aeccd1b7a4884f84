/**
 * An incremental Server-Sent Events parser over raw bytes, following the WHATWG HTML "event
 * stream interpretation" rules, that also keeps each event's exact bytes so the relay can
 * forward them unchanged.
 */

const LF = 0x0a;
const CR = 0x0d;
const BOM = '\uFEFF';
const NO_COMMENTS: readonly string[] = Object.freeze([]);
const ONE_LF = Buffer.from('\n');
const TWO_LF = Buffer.from('\n\n');

/** One event block: the lines up to and including a blank line, parsed and as raw bytes. */
export type SseBlock = {
  /** The last `event:` field's value, or null when absent (a browser then dispatches `message`). */
  event: string | null;
  /** The `data:` lines joined by `\n`; empty when there were none. */
  data: string;
  /** Whether any `data:` line was present, i.e. whether a WHATWG client would dispatch it. */
  hasData: boolean;
  /** The last `id:` field's value (null when absent or when it contained NUL). */
  id: string | null;
  /** The `retry:` field when it was all ASCII digits. */
  retry: number | null;
  /** Comment lines (`:` removed, text as sent). */
  comments: readonly string[];
  /** The exact bytes of the block, including its terminating blank line when it had one. */
  raw: Buffer;
  /** False for a last block that the body ended before its blank line. */
  terminated: boolean;
};

/**
 * Splits a byte stream into SSE blocks. Each byte is scanned once; bytes of a block that spans
 * several chunks are kept as slices and joined once, when the block ends.
 */
export class SseParser {
  private blockParts: Buffer[] = [];
  private blockBytes = 0;
  private lineParts: Buffer[] = [];
  /** The previous line ended on a CR at the end of a chunk: a leading LF belongs to it. */
  private afterCr = false;
  /** A blank line ended on that CR; the block waits so a following LF stays in its `raw`. */
  private heldBlank = false;
  private firstLine = true;
  private event: string | null = null;
  private data = '';
  private hasData = false;
  private id: string | null = null;
  private retry: number | null = null;
  private comments: string[] | null = null;

  /** Feeds one chunk as read from the socket; returns the blocks it completed, in order. */
  push(chunk: Buffer): SseBlock[] {
    const out: SseBlock[] = [];
    const len = chunk.length;
    if (len === 0) return out;

    let pos = 0;
    if (this.afterCr) {
      // CRLF is one line end even when a read boundary falls between the two bytes.
      this.afterCr = false;
      if (chunk[0] === LF) pos = 1;
    }
    let blockStart = 0;
    if (this.heldBlank) {
      this.heldBlank = false;
      this.addBlockBytes(chunk.subarray(0, pos));
      out.push(this.finish(true));
      blockStart = pos;
    }

    let lineStart = pos;
    let lf = chunk.indexOf(LF, pos);
    let cr = chunk.indexOf(CR, pos);
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      let next = end + 1;
      if (chunk[end] === CR) {
        if (next < len) {
          if (chunk[next] === LF) next += 1;
        } else {
          this.afterCr = true;
        }
      }

      const blank = this.endLine(chunk, lineStart, end);
      lineStart = next;
      if (blank) {
        // A read that holds exactly one event (the usual case) is its own block's bytes.
        this.addBlockBytes(
          blockStart === 0 && next === len ? chunk : chunk.subarray(blockStart, next),
        );
        blockStart = next;
        if (this.afterCr) this.heldBlank = true;
        else out.push(this.finish(true));
      }

      if (lf !== -1 && lf < next) lf = chunk.indexOf(LF, next);
      if (cr !== -1 && cr < next) cr = chunk.indexOf(CR, next);
    }

    if (blockStart < len) this.addBlockBytes(chunk.subarray(blockStart));
    if (lineStart < len) this.lineParts.push(chunk.subarray(lineStart));
    return out;
  }

  /**
   * Whether no bytes of an unfinished block are held, so the next chunk starts a new block. A
   * chunk pushed at a boundary that leaves the parser at one is exactly its blocks' bytes.
   */
  atBoundary(): boolean {
    return this.blockBytes === 0 && this.lineParts.length === 0 && !this.afterCr && !this.heldBlank;
  }

  /**
   * Ends the body: returns the block still open (`terminated: false` when its blank line never
   * came; see {@link terminatedRaw}), or null when nothing is left.
   */
  end(): SseBlock | null {
    this.afterCr = false;
    if (this.heldBlank) {
      this.heldBlank = false;
      return this.finish(true);
    }

    if (this.lineParts.length > 0) {
      // The partial last line is read as a line: the provider billed it, and case 17 B ends `}}`.
      const empty = Buffer.alloc(0);
      this.endLine(empty, 0, 0);
    }
    if (this.blockBytes === 0) return null;
    return this.finish(false);
  }

  private addBlockBytes(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.blockParts.push(bytes);
    this.blockBytes += bytes.length;
  }

  /** Processes the line made of the held parts plus `chunk[start, end)`; true when blank. */
  private endLine(chunk: Buffer, start: number, end: number): boolean {
    let line: string;
    if (this.lineParts.length === 0) {
      if (start === end && !this.firstLine) return true;
      line = chunk.toString('utf8', start, end);
    } else {
      this.lineParts.push(chunk.subarray(start, end));
      line = Buffer.concat(this.lineParts).toString('utf8');
      this.lineParts = [];
    }
    if (this.firstLine) {
      // The BOM is decoded with its line, so one split across chunks is still recognized.
      this.firstLine = false;
      if (line.startsWith(BOM)) line = line.slice(1);
    }

    if (line.length === 0) return true;
    this.field(line);
    return false;
  }

  private field(line: string): void {
    const colon = line.indexOf(':');
    if (colon === 0) {
      (this.comments ??= []).push(line.slice(1));
      return;
    }
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);

    if (name === 'data') {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (name === 'event') {
      this.event = value;
    } else if (name === 'id') {
      if (!value.includes('\0')) this.id = value;
    } else if (name === 'retry') {
      if (/^\d+$/.test(value)) this.retry = Number(value);
    }
  }

  private finish(terminated: boolean): SseBlock {
    const parts = this.blockParts;
    const raw = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.blockBytes);
    const block: SseBlock = {
      event: this.event,
      data: this.data,
      hasData: this.hasData,
      id: this.id,
      retry: this.retry,
      comments: this.comments ?? NO_COMMENTS,
      raw,
      terminated,
    };
    this.blockParts = [];
    this.blockBytes = 0;
    this.event = null;
    this.data = '';
    this.hasData = false;
    this.id = null;
    this.retry = null;
    this.comments = null;
    return block;
  }
}

/**
 * The block's bytes with the missing line end(s) added, so a client receives `...\n\n` for a
 * last event the upstream closed without its blank line; a terminated block's `raw` as is.
 */
export function terminatedRaw(block: SseBlock): Buffer {
  if (block.terminated) return block.raw;

  const last = block.raw[block.raw.length - 1];
  // After a lone CR, a single LF would merge with it into one CRLF line end: add two.
  const tail = last === LF ? ONE_LF : TWO_LF;
  return Buffer.concat([block.raw, tail]);
}
