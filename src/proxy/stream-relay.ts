import type { ServerResponse } from 'node:http';
import { SseParser, terminatedRaw, type SseBlock } from '../sse/parser.js';
import type { StreamMeter } from '../providers/usage.js';
import type { AbortSource } from './request-abort.js';
import type { UpstreamCall } from './upstream-call.js';

/**
 * How a relayed stream ended when neither side failed: whole, truncated by the upstream, cut by
 * a budget, or stopped by the gateway's shutdown.
 */
export type RelayEnd = 'complete' | 'truncated' | 'cut' | 'stopped';

/** The gateway's own end of a stream: when `signal` emits `abort`, `ending` is sent and it ends. */
export type StreamStop = { signal: AbortSource; ending(): Buffer };

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
 * event never holds it back. A stream that ends (whole, truncated or cut) ends the response
 * too; one that fails rejects with what the upstream body failed with (reset, timeout, abort
 * when the client left) or what the budget check failed with, and leaves the response open.
 * The blocks of one read, and the end, go out in one socket write without corking here: a
 * response's first write in a turn corks its socket until the next tick (Node's http does).
 */
export function relaySse(
  body: UpstreamCall,
  res: ServerResponse,
  meter: StreamMeter,
  cut?: StreamCut,
  stop?: StreamStop,
): Promise<RelayEnd> {
  return new Promise((resolve, reject) => {
    const parser = new SseParser();
    // Set once the body has been handed over, unless a block already went out with it.
    let early: NodeJS.Immediate | undefined;
    let wrote = false;
    let done = false;
    const finish = (end: RelayEnd | Error): void => {
      if (done) return;
      done = true;
      clearImmediate(early);
      stop?.signal.off('abort', onStop);
      if (end instanceof Error) {
        reject(end);
        return;
      }
      // Ended here, in the turn of the last events, so they and the end go out in one write.
      if (!res.destroyed) res.end();
      resolve(end);
    };
    const fail = (err: unknown): void => {
      finish(asError(err));
      body.abort();
    };
    const endCut = (): void => {
      res.write(cut!.ending(meter));
      finish('cut');
    };
    // Stopped between reads: the client gets the ending, the upstream is told to stop.
    function onStop(): void {
      if (done) return;
      if (!res.destroyed) res.write(stop!.ending());
      finish('stopped');
      body.abort();
    }
    // After a read's blocks went out and the budget had its say: the client's pace. The answer
    // may have drained while the budget was asked, so whether to wait is read now.
    const goOn = (): void => void drained(res).then(() => body.resume());

    // Listening before the body is handed over: a body already in full ends the relay inside
    // `pipe`, and `finish` must find the listener to remove it (the deadline is shared). First in
    // line, so the client gets the ending before the upstream call, which listens too, fails.
    stop?.signal.prependOnceListener('abort', onStop);
    body.pipe({
      onData(chunk) {
        try {
          const startsBlock = parser.atBoundary();
          const blocks = parser.push(chunk);
          if (blocks.length === 0) return true;

          let hidden: SseBlock[] | null = null;
          for (const block of blocks) if (!meter.onBlock(block)) (hidden ??= []).push(block);
          let flowing = true;
          if (hidden === null && startsBlock && parser.atBoundary()) {
            // The read is exactly these whole blocks, all passed on: one write of its bytes.
            flowing = res.write(chunk);
          } else {
            for (const block of blocks) {
              if (hidden === null || !hidden.includes(block)) flowing = res.write(block.raw);
            }
          }
          if (!wrote && (hidden === null || hidden.length < blocks.length)) {
            wrote = true;
            clearImmediate(early);
          }
          // A stream that already ended (its terminator relayed) is not cut: it is whole.
          if (cut && !meter.result().sawTerminator) {
            const reached = cut.reached();
            if (reached === true) {
              endCut();
              return false;
            }
            if (reached !== false) {
              reached.then((yes) => (yes ? endCut() : goOn()), fail);
              return false;
            }
          }
          if (flowing) return true;
          goOn();
          return false;
        } catch (err) {
          fail(err);
          return false;
        }
      },
      onEnd() {
        try {
          const last = parser.end();
          if (!last) return finish('complete');
          if (meter.onBlock(last)) {
            res.write(terminatedRaw(last));
            return finish('complete');
          }
          // Refused: a fragment whose data is not whole, or a whole event the meter hides (the
          // usage chunk the gateway asked for), which ends the stream as well as any.
          finish(last.hasData && !isWholeJson(last.data) ? 'truncated' : 'complete');
        } catch (err) {
          finish(asError(err));
        }
      },
      onError(err) {
        // A body that fails after its terminator (`[DONE]`, `message_stop`) has delivered the
        // whole stream: the failure is the connection's, not the answer's.
        finish(meter.result().sawTerminator ? 'complete' : err);
      },
    });
    if (!wrote && !done) early = setImmediate(flushHeaders, res);
    if (stop?.signal.aborted) onStop();
  });
}

/**
 * Relays a body as it comes, at the client's pace; settles when it has ended or rejects with
 * what it failed with.
 */
export function relayBody(body: UpstreamCall, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    body.pipe({
      onData(chunk) {
        if (res.write(chunk)) return true;
        void drained(res).then(() => body.resume());
        return false;
      },
      onEnd: resolve,
      onError: reject,
    });
  });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function isWholeJson(data: string): boolean {
  try {
    JSON.parse(data);
    return true;
  } catch {
    return false;
  }
}

function flushHeaders(res: ServerResponse): void {
  if (!res.destroyed) res.flushHeaders();
}

/** Resolves when the client can take more bytes, or has gone (at once if either is so). */
export function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed || !res.writableNeedDrain) return Promise.resolve();
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
