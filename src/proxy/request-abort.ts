import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';

/**
 * What can stop an upstream call or a relay: an emitter of `abort` that says whether it has
 * (`RequestAbort`, the gateway's `ShutdownDeadline`). undici takes one as a request's `signal`.
 */
export type AbortSource = EventEmitter & { aborted: boolean };

/** The status recorded for a client that closed the request first (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Whether a request should stop: its client went away before the response was finished, or the
 * gateway ended it (a stream cut at its budget). It emits `abort` once, and undici takes it as a
 * request's `signal` (an EventEmitter with `aborted` is one of the kinds it accepts), so the
 * upstream call stops too. An EventEmitter costs a fraction of an AbortController's signal,
 * which every request would otherwise make and most never use.
 */
export class RequestAbort extends EventEmitter {
  aborted = false;

  constructor(res: ServerResponse) {
    super();
    res.on('close', () => {
      if (!res.writableFinished) this.abort();
    });
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
