/**
 * How a call to Redis fails: with an answer that is an error (a bug, rethrown as it is), or with
 * no usable answer (Redis down, unreachable, too slow, loading), which the failover store turns
 * into its outage rule.
 */
import { StoreUnavailableError, type Reservation } from './store.js';

/**
 * Redis gave no answer (down, unreachable, too slow, loading). `maybeReserved` is the
 * reservation a failed reserve may still have made: releasing it later is safe either way.
 */
export class StoreUnreachableError extends StoreUnavailableError {
  readonly maybeReserved: Reservation | undefined;

  constructor(cause: unknown, maybeReserved?: Reservation) {
    super(`the counter store did not answer: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.name = 'StoreUnreachableError';
    this.maybeReserved = maybeReserved;
  }
}

/** A call that got no answer in time (the connection may still be open). */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** Server errors that mean "not now" rather than a bug in a script. */
const UNAVAILABLE_REPLY =
  /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|NOAUTH|WRONGPASS|OOM)\b/;

/** Whether a failed call means Redis cannot answer now (rather than a bug in a script). */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return true;
  return UNAVAILABLE_REPLY.test(err.message);
}

/**
 * `work`, or a timeout error after `ms`. When the timer fires the rejection waits one more turn
 * (`setImmediate` runs after the event loop's I/O poll): if the loop was only stalled (a long
 * GC, a big JSON parse) and the answer arrived meanwhile, it is read first, and a busy gateway is
 * not mistaken for a dead Redis.
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new DeadlineError(`no answer from Redis within ${ms} ms`));
      });
    }, ms);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
