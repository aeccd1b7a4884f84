/**
 * Leases for Redis reservations. A gateway that crashes with reservations open would leave them
 * in its budget instances' `reserved` until the keys expire an hour after the period, so every
 * gateway holds a lease: a key with a short TTL that it renews while it runs (and that each
 * reserve renews too). Each hold is registered under its gateway, and every gateway sweeps now
 * and then for holds whose gateway's lease is gone, giving their budget amounts back (the
 * `RELEASE_ORPHANS` script). Both timers are off the request path and never keep the process up.
 */

/** How long a gateway's lease lives without a renewal. @default 15 s */
export const DEFAULT_LEASE_MS = 15_000;

/** The keys a store's lease uses, given the store's key function (prefix plus encoding). */
export type LeaseKeys = {
  /** This gateway's lease. */
  readonly lease: string;
  /** This gateway's hold hash: open hold id to the budget amounts it added. */
  readonly owned: string;
  /** Every gateway that registered holds. */
  readonly owners: string;
  /** What lease keys, hold hashes and hold markers start with, for the sweep script. */
  readonly leaseStart: string;
  readonly ownedStart: string;
  readonly holdStart: string;
};

export function leaseKeys(key: (engineKey: string) => string, gatewayId: string): LeaseKeys {
  return {
    lease: key(`l\u0000${gatewayId}`),
    owned: key(`g\u0000${gatewayId}`),
    owners: key('g'),
    leaseStart: key('l\u0000'),
    ownedStart: key('g\u0000'),
    holdStart: key('h\u0000'),
  };
}

/**
 * The renewal and sweep timers. Renewals start with the first hold (a gateway that never held
 * anything needs no lease) and come three times per lease, so two may be lost before it lapses;
 * sweeps run twice per lease from the start, so a gateway that only reads still gives back the
 * holds of a crashed one. A run never overlaps the previous one; failures wait for the next run.
 */
export class LeaseTimers {
  readonly #leaseMs: number;
  readonly #renew: () => Promise<unknown>;
  #renewal: NodeJS.Timeout | null = null;
  #sweeps: NodeJS.Timeout | null;
  #stopped = false;

  constructor(leaseMs: number, renew: () => Promise<unknown>, sweep: () => Promise<unknown>) {
    this.#leaseMs = leaseMs;
    this.#renew = renew;
    this.#sweeps = every(Math.max(1, Math.floor(leaseMs / 2)), sweep);
  }

  /** Whether renewals have started: this gateway has held something. */
  get renewing(): boolean {
    return this.#renewal !== null;
  }

  startRenewing(): void {
    if (this.#renewal !== null || this.#stopped) return;
    this.#renewal = every(Math.max(1, Math.floor(this.#leaseMs / 3)), this.#renew);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#renewal !== null) clearInterval(this.#renewal);
    if (this.#sweeps !== null) clearInterval(this.#sweeps);
    this.#sweeps = null;
  }
}

function every(ms: number, work: () => Promise<unknown>): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    work()
      .catch(() => undefined)
      .finally(() => {
        running = false;
      });
  }, ms);
  timer.unref();
  return timer;
}
