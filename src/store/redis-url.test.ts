import { describe, expect, it } from 'vitest';
import { checkConfigText } from '../config/load.js';
import { parseRedisCountersUrl } from './redis-url.js';

describe('redis counters URL', () => {
  it('defaults to port 6379, database 0, the spendgate: prefix, 250 ms, Redis time, 15 s leases', () => {
    const spec = parseRedisCountersUrl('redis://cache.internal');

    expect(spec).toEqual({
      connection: { host: 'cache.internal', port: 6379, db: 0 },
      prefix: 'spendgate:',
      timeoutMs: 250,
      clock: 'redis',
      leaseMs: 15_000,
    });
  });

  it('reads the database, credentials, TLS and every option', () => {
    const spec = parseRedisCountersUrl(
      'rediss://gw:p%40ss@10.0.0.5:6380/3?prefix=eu-west:&timeout_ms=80&clock=caller&lease_ms=3000',
    );

    expect(spec).toEqual({
      connection: {
        host: '10.0.0.5',
        port: 6380,
        db: 3,
        username: 'gw',
        password: 'p@ss',
        tls: {},
      },
      prefix: 'eu-west:',
      timeoutMs: 80,
      clock: 'caller',
      leaseMs: 3_000,
    });
  });

  it('refuses unknown options and bad values without repeating the password', () => {
    const attempt = (url: string) => {
      try {
        parseRedisCountersUrl(url);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };

    expect(attempt('redis://:hunter2@h/0?prefx=a')).toBe(
      'unknown option "prefx" (prefix, timeout_ms, clock, lease_ms)',
    );
    expect(attempt('redis://:hunter2@h/zero')).toBe('the database after the port must be a number');
    expect(attempt('redis://:hunter2@h/0?timeout_ms=0')).toBe(
      'timeout_ms must be a positive whole number',
    );
    expect(attempt('redis://:hunter2@h/0?clock=local')).toBe('clock must be redis or caller');
    expect(attempt('redis://:hunter2@h/0?lease_ms=299')).toBe(
      'lease_ms must be a whole number of at least 300',
    );
  });

  it('is checked when the config is loaded', () => {
    const { problems } = checkConfigText(
      'storage: { counters: "mysql://:hunter2@h" }\nupstreams: { a: { format: openai, base_url: http://127.0.0.1:1 } }\n',
      {},
    );

    expect(problems).toEqual([
      {
        path: expect.stringContaining('storage.counters'),
        message: 'use memory, redis:// or rediss://',
      },
    ]);
  });
});
