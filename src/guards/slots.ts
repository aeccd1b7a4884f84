/**
 * Bookkeeping shared by the guards' per-scope maps: a stable key for a scope object and the
 * eviction that keeps each map bounded.
 */

/** How stale a slot's place in its map may get before a use moves it to the end. */
export const TOUCH_EVERY_MS = 60_000;

/** Scope instances each rule keeps state for; the least recently used one goes first. */
export const DEFAULT_MAX_SCOPES = 100_000;

/** A stable text key for a scope object, whatever the order of its keys. */
export function scopeKeyOf(scope: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.keys(scope)
      .sort()
      .map((key) => [key, scope[key]]),
  );
}

/** Drops the first entry in insertion order, the least recently touched one. */
export function evictOldest<V>(map: Map<string, V>): void {
  const first = map.keys().next();
  if (first.done !== true) map.delete(first.value);
}
