/**
 * Counter keys. A budget instance key holds the budget's name, its period's start and the scope
 * values, so a new period is a new key and `GET /budgets` can decode a snapshot without extra
 * metadata in the store.
 */
import { KEY_SEPARATOR } from '../policy/scope.js';
import type { BucketKind } from '../policy/token-bucket.js';

/** The fixed start of every key of one budget: `b<NUL><name><NUL>`. */
export function budgetKeyPrefix(name: string): string {
  return `b${KEY_SEPARATOR}${name}${KEY_SEPARATOR}`;
}

/** The fixed start of every key of one rate-limit bucket kind. */
export function bucketKeyPrefix(name: string, kind: BucketKind): string {
  return `r${KEY_SEPARATOR}${name}${KEY_SEPARATOR}${kind}${KEY_SEPARATOR}`;
}

/** The key of one budget instance in the period starting at `startMs`. */
export function budgetInstanceKey(prefix: string, startMs: number, values: string): string {
  return prefix + startMs + KEY_SEPARATOR + values;
}

/** A budget instance key taken apart again; null for a key of another shape. */
export function parseBudgetKey(
  key: string,
): { name: string; startMs: number; values: string } | null {
  if (!key.startsWith(`b${KEY_SEPARATOR}`)) return null;
  const nameEnd = key.indexOf(KEY_SEPARATOR, 2);
  const startEnd = nameEnd < 0 ? -1 : key.indexOf(KEY_SEPARATOR, nameEnd + 1);
  if (startEnd < 0) return null;
  return {
    name: key.slice(2, nameEnd),
    startMs: Number(key.slice(nameEnd + 1, startEnd)),
    values: key.slice(startEnd + 1),
  };
}
