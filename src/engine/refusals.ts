/**
 * When each budget instance last refused a request at this gateway, so that `GET /budgets` can
 * say `reject` while an instance is refusing requests whose reservation does not fit what is
 * left, even though its utilization is below the reject stage. Only the refusal path writes
 * here; what other replicas refused is not known.
 */

/** How long after its last refusal an instance is reported at the `reject` stage. */
export const RECENT_REFUSAL_MS = 60_000;

/** The most instances remembered; past it, those whose refusal is oldest are forgotten first. */
export const MAX_REFUSING_INSTANCES = 10_000;

type Entry = { atMs: number; periodEndMs: number };

/**
 * The most recent refusal of each budget instance, keyed by the instance key (which holds the
 * period start, so a new period never sees the last one's refusal). Entries are dropped once
 * their period is over, and the map never holds more than {@link MAX_REFUSING_INSTANCES}.
 */
export class RefusalLog {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  #nextSweepMs = 0;

  constructor(max = MAX_REFUSING_INSTANCES) {
    this.#max = max;
  }

  /** How many instances are remembered, for tests. */
  get size(): number {
    return this.#entries.size;
  }

  /** Notes that the instance `key`, whose period ends at `periodEndMs`, refused at `atMs`. */
  record(key: string, atMs: number, periodEndMs: number): void {
    // Deleted first so the map stays in order of last refusal: the oldest is evicted first.
    this.#entries.delete(key);
    this.#entries.set(key, { atMs, periodEndMs });
    if (this.#entries.size > this.#max) {
      // A full scan at most once a minute; in between, the oldest refusal makes room.
      if (atMs >= this.#nextSweepMs) {
        this.forgetEnded(atMs);
        this.#nextSweepMs = atMs + RECENT_REFUSAL_MS;
      }
      for (const oldest of this.#entries.keys()) {
        if (this.#entries.size <= this.#max) break;
        this.#entries.delete(oldest);
      }
    }
  }

  /** When the instance last refused a request in its period, or undefined. */
  lastAt(key: string, nowMs: number): number | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.periodEndMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.atMs;
  }

  /** The instances that refused a request in a period not yet over. */
  instances(nowMs: number): string[] {
    const live: string[] = [];
    for (const [key, entry] of this.#entries) if (nowMs < entry.periodEndMs) live.push(key);
    return live;
  }

  /** Drops the instances whose period is over. */
  forgetEnded(nowMs: number): void {
    for (const [key, entry] of this.#entries) {
      if (nowMs >= entry.periodEndMs) this.#entries.delete(key);
    }
  }
}
