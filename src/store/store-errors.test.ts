import { describe, expect, it } from 'vitest';
import { StoreDownError } from './failover.js';
import { StoreUnreachableError } from './redis-calls.js';
import { StoreUnavailableError } from './store.js';

describe('store errors: what the engine takes for an outage', () => {
  it('counts an unreachable Redis and a store down under fail_closed as unavailable', () => {
    expect(new StoreUnreachableError(new Error('connect ECONNREFUSED'))).toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(new StoreDownError()).toBeInstanceOf(StoreUnavailableError);
  });

  it('keeps the message and name of each', () => {
    const unreachable = new StoreUnreachableError(new Error('connect ECONNREFUSED'));

    expect([unreachable.name, unreachable.message]).toEqual([
      'StoreUnreachableError',
      'the counter store did not answer: connect ECONNREFUSED',
    ]);
    expect(new StoreDownError().name).toBe('StoreDownError');
  });
});
