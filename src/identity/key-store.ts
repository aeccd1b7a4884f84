import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import type { Clock } from '../clock.js';
import { KEY_PREFIX, parseKeysFile, type KeyRecord } from './keys.js';

/** How often, at most, the keys file's mtime is checked for changes made by the CLI. */
export const KEY_FILE_CHECK_MS = 1_000;

// A real key is 46 characters; anything far longer is refused before it is hashed.
const MAX_KEY_LENGTH = 256;

type Entry = { record: KeyRecord; hash: Buffer };

type FileStamp = { mtimeMs: number; size: number; ino: number } | null;

/** Options of a {@link KeyStore}. */
export type KeyStoreOptions = {
  /** Called when a changed file cannot be read; the store keeps serving the last good keys. */
  onReloadError?: (error: Error) => void;
};

/**
 * The server's view of the virtual keys file: a map from sha256 digest to record, so a
 * presented key is found in O(1). It notices files rewritten by `spendgate keys` (a rename
 * gives a new inode and mtime) at most once a second, so new keys work without a restart.
 */
export class KeyStore {
  readonly #file: string;
  readonly #onReloadError: ((error: Error) => void) | undefined;
  #entries = new Map<string, Entry>();
  #stamp: FileStamp = null;
  #checkedAtMs: number;

  /**
   * Loads `file` now, at `clock`'s time (or the given epoch ms); a missing file is an empty
   * store, a malformed one a `ConfigError`.
   */
  constructor(file: string, clock: Clock | number, options: KeyStoreOptions = {}) {
    this.#file = file;
    this.#onReloadError = options.onReloadError;
    this.#checkedAtMs = typeof clock === 'number' ? clock : clock.now();
    this.#load(stampOf(file));
  }

  /** The record of a live key presented by a client, or undefined if unknown or revoked. */
  lookup(key: string, nowMs: number): KeyRecord | undefined {
    this.refresh(nowMs);
    if (!key.startsWith(KEY_PREFIX) || key.length > MAX_KEY_LENGTH) return undefined;

    const digest = createHash('sha256').update(key).digest();
    const entry = this.#entries.get(digest.toString('hex'));
    // The map lookup already matched; the constant-time compare keeps the final check from
    // depending on where two digests first differ, should the map ever be swapped out.
    if (entry === undefined || !timingSafeEqual(digest, entry.hash)) return undefined;
    // Any revocation time counts, even one ahead of this clock: a revocation written on a
    // host whose clock runs fast must still take effect at once.
    if (entry.record.revoked_at !== undefined) return undefined;
    return entry.record;
  }

  /** Re-reads the file if it changed, checking its mtime at most once per second. */
  refresh(nowMs: number): void {
    if (nowMs - this.#checkedAtMs < KEY_FILE_CHECK_MS) return;
    this.#checkedAtMs = nowMs;

    const stamp = stampOf(this.#file);
    if (sameStamp(stamp, this.#stamp)) return;
    try {
      this.#load(stamp);
    } catch (error) {
      // Remember the bad file's stamp so it is reported once, not on every check.
      this.#stamp = stamp;
      this.#onReloadError?.(error as Error);
    }
  }

  /** Number of records held, revoked ones included. */
  get size(): number {
    return this.#entries.size;
  }

  #load(stamp: FileStamp): void {
    const file = this.#file;
    const records = stamp === null ? [] : parseKeysFile(file, readFileSync(file, 'utf8'));
    const entries = new Map<string, Entry>();
    for (const record of records) {
      const hash = Buffer.from(record.hash, 'hex');
      entries.set(record.hash, { record: Object.freeze(record), hash });
    }
    this.#entries = entries;
    this.#stamp = stamp;
  }
}

function stampOf(file: string): FileStamp {
  const stats = statSync(file, { throwIfNoEntry: false });
  return stats ? { mtimeMs: stats.mtimeMs, size: stats.size, ino: stats.ino } : null;
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  if (a === null || b === null) return a === b;
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}
