import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminToken } from '../config/prepare.js';

/** The admin token a request presented, or null. Compared in constant time over digests. */
export function authenticateAdmin(
  authorization: string | undefined,
  tokens: readonly AdminToken[],
): AdminToken | null {
  if (!authorization || tokens.length === 0) return null;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (!match) return null;

  // Digests have one length, so the comparison leaks neither content nor length.
  const presented = digest(match[1] as string);
  let found: AdminToken | null = null;
  for (const token of tokens) {
    if (timingSafeEqual(presented, digest(token.token)) && !found) found = token;
  }
  return found;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
