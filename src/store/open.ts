/** Opens the counter store `storage.counters` names. */
import type { Clock } from '../clock.js';
import type { Logger } from '../log/logger.js';
import { FailoverStore } from './failover.js';
import { MemoryStore } from './memory.js';
import { connectionProblem, connectRedis } from './redis-connection.js';
import { parseRedisCountersUrl, type RedisCountersSpec } from './redis-url.js';
import { RedisStore } from './redis.js';
import type { CounterStore } from './store.js';

/** What opening a store needs besides its URL. */
export type OpenCounterStoreOptions = {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly onStoreDown: 'fail_open' | 'fail_closed';
};

/**
 * `memory`: the in-process store. `redis://...`: Redis behind the failover store, which applies
 * `on_store_down` while Redis cannot answer.
 */
export function openCounterStore(spec: string, options: OpenCounterStoreOptions): CounterStore {
  if (spec === 'memory') return new MemoryStore();
  let parsed: RedisCountersSpec;
  try {
    parsed = parseRedisCountersUrl(spec);
  } catch (err) {
    throw new Error(`storage.counters: ${(err as Error).message}`);
  }
  const redis = connectRedis(parsed);
  const remote = new RedisStore(redis, {
    prefix: parsed.prefix,
    clock: parsed.clock,
    callerClock: options.clock,
    timeoutMs: parsed.timeoutMs,
    leaseMs: parsed.leaseMs,
  });
  return new FailoverStore({
    remote,
    rule: options.onStoreDown,
    logger: options.logger,
    clock: options.clock,
    connectionProblem: () => connectionProblem(redis),
  });
}
