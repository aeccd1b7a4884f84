import type { JWTPayload } from 'jose';

/** Entries kept by default; at ~1 KB a token this bounds the cache near 10 MB. */
export const DEFAULT_JWT_CACHE_SIZE = 10_000;

/** Longest a verified token is trusted without verifying it again, even with a later `exp`. */
export const MAX_JWT_CACHE_MS = 5 * 60_000;

type Entry = { claims: JWTPayload; untilMs: number };

/**
 * A bounded LRU of verified JWT claims keyed by the token string. An entry is served only
 * while `nowMs` is before the instant the token stops being acceptable, so a cached token is
 * refused exactly when a fresh verification would refuse it for expiry.
 */
export class JwtCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = DEFAULT_JWT_CACHE_SIZE) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** The cached claims of `token`, or undefined when absent or no longer valid at `nowMs`. */
  get(token: string, nowMs: number): JWTPayload | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.untilMs) {
      this.#entries.delete(token);
      return undefined;
    }

    // Re-inserting moves the entry to the young end of the Map's insertion order.
    this.#entries.delete(token);
    this.#entries.set(token, entry);
    return entry.claims;
  }

  /** Stores verified claims, valid until `untilMs`; evicts the least recently used entry. */
  set(token: string, claims: JWTPayload, untilMs: number): void {
    this.#entries.delete(token);
    this.#entries.set(token, { claims, untilMs });
    if (this.#entries.size <= this.#maxEntries) return;

    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }

  /** Number of entries held, expired ones included until they are next touched. */
  get size(): number {
    return this.#entries.size;
  }
}
