/**
 * A Redis connection that fails fast: with no offline queue and a short command timeout, a dead
 * or hung Redis costs a request at most `timeout_ms`, and the failover store decides what happens
 * next. ioredis keeps reconnecting in the background.
 */
import { Redis } from 'ioredis';
import type { RedisCountersSpec } from './redis-url.js';

/**
 * A connection that never queues: a command sent while disconnected fails at once, and commands
 * cut by a dropped connection are not resent (a resent reserve could charge twice). Commands
 * that get no answer are timed out by the store (`RedisStore`'s `timeoutMs`), not here.
 */
export function connectRedis(spec: RedisCountersSpec): Redis {
  const redis = new Redis({
    ...spec.connection,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: Math.max(spec.timeoutMs * 4, 200),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  // Connection errors also fail the commands in flight, which the failover store logs once per
  // outage; unheard, the event would print a line for every reconnect attempt.
  redis.on('error', () => undefined);
  return redis;
}
