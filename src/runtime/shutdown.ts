import { EventEmitter } from 'node:events';

/**
 * The moment a graceful stop runs out of patience: requests still in flight when the grace
 * period ends are cut by the gateway. It emits `abort` once then, in the shape undici takes as a
 * request's `signal` (as `RequestAbort` does), so upstream calls still waiting stop and their
 * rows are written before the ledger closes; streams end with their API's error event instead
 * of going silent; and a request whose connection the gateway closed is recorded as cut at
 * shutdown, not as a client that left.
 */
export class ShutdownDeadline extends EventEmitter {
  /** True once the grace period has ended. */
  aborted = false;

  constructor() {
    super();
    // Every request in flight listens; there is no leak to warn about.
    this.setMaxListeners(0);
  }

  /** Ends the grace period: what is still in flight is about to be cut. */
  pass(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
