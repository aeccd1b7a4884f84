import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The shared Redis the tests may use; each run keeps to its own key prefix. */
export const SHARED_REDIS_PORT = 6379;

/** A connection to a Redis on 127.0.0.1 (the shared one unless told otherwise). */
export function redisClient(port = SHARED_REDIS_PORT): Redis {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  // Failed commands reject on their own; the event would only print reconnect noise.
  client.on('error', () => undefined);
  return client;
}

/** A key prefix no other test run uses. */
export function uniquePrefix(label: string): string {
  return `sgtest:${label}:${process.pid}.${randomBytes(4).toString('hex')}:`;
}

/** Every key under `prefix`. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    for (const key of keys) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found];
}

/** Deletes every key under `prefix`; resolves to how many there were. */
export async function deleteUnder(redis: Redis, prefix: string): Promise<number> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
  return keys.length;
}
