import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { capturingLogger } from '../../test/support/log-capture.js';
import { openCounterStore } from './open.js';

// The shared Redis on 127.0.0.1:6379 has no user "spendgate-nobody": it refuses the login the
// way a wrong password is refused (WRONGPASS), and nothing is written under the prefix.
const URL =
  'redis://spendgate-nobody:hunter2-not-logged@127.0.0.1:6379/0?prefix=sg-test-auth-refused:';

describe('redis counters: a refused login', () => {
  it('names the cause in the store.down line, never the password', async () => {
    const { logger, lines } = capturingLogger();
    const store = openCounterStore(URL, { logger, clock: systemClock, onStoreDown: 'fail_open' });

    try {
      const stop = Date.now() + 5_000;
      while (!lines.some((l) => l.event === 'store.down') && Date.now() < stop) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await store.close?.();
    }

    const down = lines.filter((l) => l.event === 'store.down');
    // 40 is pino's warn: fail_open keeps serving on local counters.
    expect(down.map((l) => [l.level, l.rule, l.reason])).toEqual([
      [
        40,
        'fail_open',
        'no connection to Redis: authentication failed (WRONGPASS invalid username-password ' +
          'pair or user is disabled.); check the user and password in storage.counters',
      ],
    ]);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });
});
