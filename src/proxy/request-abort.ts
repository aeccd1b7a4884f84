import type { ServerResponse } from 'node:http';

/**
 * Whether a request should stop: its client went away before the response was finished, or the
 * gateway ended it (a stream cut at its budget). The abort signal that carries this to undici
 * and to a throttle delay is made only when one of them asks for it: most requests never need
 * it, and an AbortSignal costs a few microseconds to create on Node 20.
 */
export class RequestAbort {
  private controller: AbortController | null = null;
  private stopped = false;

  constructor(res: ServerResponse) {
    res.on('close', () => {
      if (!res.writableFinished) this.abort();
    });
  }

  get aborted(): boolean {
    return this.stopped;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.stopped) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller?.abort();
  }
}
