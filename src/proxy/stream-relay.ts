import type { ServerResponse } from 'node:http';
import { SseParser, terminatedRaw } from '../sse/parser.js';
import type { StreamMeter } from '../providers/usage.js';

/** How a relayed stream ended when neither side failed. */
export type RelayEnd = 'complete' | 'truncated' | 'cut';

/** A budget's say over a stream: checked after each read, it may end the stream early. */
export type StreamCut = {
  /** Usually answers at once; asks the counter store only when the reservation is used up. */
  reached(): boolean | Promise<boolean>;
  /** The format's clean ending (final chunk with usage, then the terminator). */
  ending(meter: StreamMeter): Buffer;
};

/**
 * Relays an SSE body block by block: each complete block's bytes go to the client unchanged
 * unless the meter hides it. A last block without its blank line is passed on terminated when
 * it is whole, and dropped when it is a truncated fragment (SPEC "Modes", exceptions 1 and 2).
 * With `cut`, a stream whose budget runs out ends early with the format's clean ending.
 * The status line set with `writeHead` goes out with the first block (one write instead of
 * two), or on the next turn of the event loop when no block has come by then, so a slow first
 * event never holds it back. Throws what the upstream body throws (reset, timeout, abort when
 * the client left).
 */
export async function relaySse(
  body: AsyncIterable<Buffer>,
  res: ServerResponse,
  meter: StreamMeter,
  cut?: StreamCut,
): Promise<RelayEnd> {
  const parser = new SseParser();
  let early: NodeJS.Immediate | undefined = setImmediate(flushHeaders, res);
  try {
    for await (const chunk of body) {
      const blocks = parser.push(chunk);
      if (blocks.length === 0) continue;

      res.cork();
      let flowing = true;
      for (const block of blocks) {
        if (!meter.onBlock(block)) continue;
        flowing = res.write(block.raw);
        clearImmediate(early);
        early = undefined;
      }
      res.uncork();
      // A stream that already ended (its terminator relayed) is not cut: it is whole.
      if (cut && !meter.result().sawTerminator && (await cut.reached())) {
        res.write(cut.ending(meter));
        return 'cut';
      }
      if (!flowing) await drained(res);
    }
  } finally {
    clearImmediate(early);
  }

  // The meter refuses an unterminated last block whose data is not whole (a cut-off fragment).
  const last = parser.end();
  if (!last) return 'complete';
  if (meter.onBlock(last)) {
    res.write(terminatedRaw(last));
    return 'complete';
  }
  return last.hasData ? 'truncated' : 'complete';
}

function flushHeaders(res: ServerResponse): void {
  if (!res.destroyed) res.flushHeaders();
}

/** Resolves when the client can take more bytes, or has gone. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
