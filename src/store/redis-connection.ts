/**
 * A Redis connection that fails fast: with no offline queue and a short command timeout, a dead
 * or hung Redis costs a request at most `timeout_ms`, and the failover store decides what happens
 * next. ioredis keeps reconnecting in the background.
 */
import type { Redis } from 'ioredis';
import { redisClient } from '../lazy/drivers.js';
import type { RedisCountersSpec } from './redis-url.js';

/**
 * A connection that never queues: a command sent while disconnected fails at once, and commands
 * cut by a dropped connection are not resent (a resent reserve could charge twice). Commands
 * that get no answer are timed out by the store (`RedisStore`'s `timeoutMs`), not here.
 */
export function connectRedis(spec: RedisCountersSpec): Redis {
  const redis = new (redisClient())({
    ...spec.connection,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: Math.max(spec.timeoutMs * 4, 200),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  // Connection errors also fail the commands in flight, which the failover store logs once per
  // outage; unheard, the event would print a line for every reconnect attempt. The last one is
  // kept: it says why there is no connection.
  redis.on('error', (err: Error) => LAST_ERRORS.set(redis, err));
  redis.on('ready', () => LAST_ERRORS.delete(redis));
  return redis;
}

const LAST_ERRORS = new WeakMap<Redis, Error>();

// Redis's own words for a refused login (WRONGPASS from ACLs, ERR invalid password before 6,
// NOAUTH when a password is required and none was given).
const AUTH_FAILED = /WRONGPASS|invalid password|NOAUTH|invalid username-password/i;

/**
 * Why a connection is not up, in words, from the last error it had: a refused login says
 * "authentication failed" (the password is never in Redis's reply); null when none is known.
 */
export function connectionProblem(redis: Redis): string | null {
  const err = LAST_ERRORS.get(redis);
  if (err === undefined) return null;
  const text = err.message.trim();
  if (AUTH_FAILED.test(text)) {
    return `authentication failed (${text}); check the user and password in storage.counters`;
  }
  const code = (err as NodeJS.ErrnoException).code;
  return code && !text.includes(code) ? `${code}: ${text}` : text;
}
