/**
 * The PostgreSQL and Redis client libraries, loaded on first use. Together they add about 35 MB
 * to a process (measured with Node 20), which a gateway on the embedded SQLite ledger and
 * in-process counters never needs. Both are CommonJS packages, so a synchronous require keeps
 * the code that opens a connection synchronous.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { Redis } from 'ioredis';

const require = createRequire(import.meta.url);

/** The `pg` module (its default export). */
export function pgDriver(): typeof pg {
  return require('pg') as typeof pg;
}

/** The ioredis client class. */
export function redisClient(): typeof Redis {
  return (require('ioredis') as { Redis: typeof Redis }).Redis;
}
