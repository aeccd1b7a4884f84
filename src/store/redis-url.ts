/**
 * `redis://[user:password@]host[:port][/db][?prefix=..&timeout_ms=..&clock=..&lease_ms=..]`
 * (or `rediss://` for TLS), checked when the config is loaded and parsed when the store opens.
 */
import type { RedisOptions } from 'ioredis';

/** What a `redis://` counters URL asks for. */
export type RedisCountersSpec = {
  readonly connection: RedisOptions;
  /** Starts every key, so deployments and tests can share one Redis. @default spendgate: */
  readonly prefix: string;
  /** How long one command may take before Redis counts as down. @default 250 */
  readonly timeoutMs: number;
  /** Whose time refills token buckets; see `RedisStoreOptions.clock`. @default redis */
  readonly clock: 'redis' | 'caller';
  /** How long a gateway's holds outlive its last lease renewal. @default 15000 */
  readonly leaseMs: number;
};

/** The default key prefix. */
export const DEFAULT_REDIS_PREFIX = 'spendgate:';

// 50 ms was seen to expire on a loaded 2-core machine with Redis up (bench/replicas.ts), which
// turned busy moments into outages; a dead Redis fails at once whatever the deadline.
const DEFAULT_TIMEOUT_MS = 250;
const QUERY_FIELDS = new Set(['prefix', 'timeout_ms', 'clock', 'lease_ms']);
const DEFAULT_LEASE_MS = 15_000;
// Renewals come every third of a lease: below this they would be a steady load on Redis.
const MIN_LEASE_MS = 300;

/**
 * Parses a counters URL. Errors name the setting but never repeat the URL, which may hold a
 * password.
 */
export function parseRedisCountersUrl(spec: string): RedisCountersSpec {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new Error('not a valid redis:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error('use memory, redis:// or rediss://');
  }
  for (const name of url.searchParams.keys()) {
    if (!QUERY_FIELDS.has(name)) {
      throw new Error(`unknown option "${name}" (prefix, timeout_ms, clock, lease_ms)`);
    }
  }

  const dbText = url.pathname.replace(/^\//, '') || '0';
  const db = Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new Error('the database after the port must be a number');
  }
  const timeoutText = url.searchParams.get('timeout_ms');
  const timeoutMs = timeoutText === null ? DEFAULT_TIMEOUT_MS : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new Error('timeout_ms must be a positive whole number');
  }
  const leaseText = url.searchParams.get('lease_ms');
  const leaseMs = leaseText === null ? DEFAULT_LEASE_MS : Number(leaseText);
  if (!Number.isInteger(leaseMs) || leaseMs < MIN_LEASE_MS) {
    throw new Error(`lease_ms must be a whole number of at least ${MIN_LEASE_MS}`);
  }
  const clock = url.searchParams.get('clock') ?? 'redis';
  if (clock !== 'redis' && clock !== 'caller') {
    throw new Error('clock must be redis or caller');
  }

  const connection: RedisOptions = {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return {
    connection,
    prefix: url.searchParams.get('prefix') ?? DEFAULT_REDIS_PREFIX,
    timeoutMs,
    clock,
    leaseMs,
  };
}

/** Why a `storage.counters` value cannot be used, or null; for config validation. */
export function countersProblem(spec: string): string | null {
  if (spec === 'memory') return null;
  try {
    parseRedisCountersUrl(spec);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
