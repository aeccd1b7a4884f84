import { describe, expect, it } from 'vitest';
import type { Ledger } from '../ledger/ledger.js';
import type { KillSwitch } from '../policy/kill-switch.js';
import { capturedLogger } from '../../test/support/postgres.js';
import type { Enforcer } from './engine.js';
import { isSharedLedger, loadKillSwitches, pollKillSwitches } from './kill-switch-sync.js';

const acme: KillSwitch = { id: 'ks_acme', dimension: 'org', value: 'acme', created_by: 'finance' };

/** An enforcer that only keeps the switches it was given. */
function recordingEnforcer(): Enforcer & { switches: readonly KillSwitch[] } {
  const enforcer = {
    switches: [] as readonly KillSwitch[],
    setKillSwitches(records: readonly KillSwitch[]) {
      enforcer.switches = records;
    },
  };
  return enforcer as unknown as Enforcer & { switches: readonly KillSwitch[] };
}

/** A ledger whose kill-switch loads are answered by the test, one by one. */
function heldLedger() {
  const waiting: ((records: KillSwitch[] | Error) => void)[] = [];
  const ledger = {
    killSwitches: {
      load: () =>
        new Promise<KillSwitch[]>((resolve, reject) =>
          waiting.push((r) => (r instanceof Error ? reject(r) : resolve(r))),
        ),
    },
  } as unknown as Ledger;
  return { ledger, waiting };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('kill switch sync: loads', () => {
  it('drops a load that started before the one already applied', async () => {
    const { ledger, waiting } = heldLedger();
    const enforcer = recordingEnforcer();

    const stale = loadKillSwitches(ledger, enforcer);
    const fresh = loadKillSwitches(ledger, enforcer);
    waiting[1]?.([acme]);
    const freshChange = await fresh;
    waiting[0]?.([]);
    const staleChange = await stale;

    expect(freshChange).toEqual({ added: [acme], removed: [] });
    expect(staleChange).toBeNull();
    expect(enforcer.switches).toEqual([acme]);
  });

  it('reports the ids a load no longer holds as removed', async () => {
    const { ledger, waiting } = heldLedger();
    const enforcer = recordingEnforcer();
    const first = loadKillSwitches(ledger, enforcer);
    waiting[0]?.([acme]);
    await first;

    const second = loadKillSwitches(ledger, enforcer);
    waiting[1]?.([]);

    expect(await second).toEqual({ added: [], removed: ['ks_acme'] });
    expect(enforcer.switches).toEqual([]);
  });

  it('polls only a ledger several gateways share', () => {
    expect(isSharedLedger('postgres://sg@db:5432/sg')).toBe(true);
    expect(isSharedLedger('postgresql://sg@db/sg')).toBe(true);
    expect(isSharedLedger('sqlite:./spendgate.db')).toBe(false);
  });
});

describe('kill switch sync: the poll', () => {
  it('logs a failing read once, keeps the switches, and logs the recovery', async () => {
    const { ledger, waiting } = heldLedger();
    const enforcer = recordingEnforcer();
    const log = capturedLogger();
    const poll = pollKillSwitches({
      ledger,
      enforcer: () => enforcer,
      logger: log.logger,
      intervalMs: 5,
    });

    await until(() => waiting.length === 1);
    waiting[0]?.([acme]);
    await until(() => waiting.length === 2);
    waiting[1]?.(new Error('the ledger database cannot be reached'));
    await until(() => waiting.length === 3);
    waiting[2]?.(new Error('the ledger database cannot be reached'));
    await until(() => waiting.length === 4);
    const duringOutage = enforcer.switches;
    waiting[3]?.([acme]);
    await until(() => waiting.length === 5);
    const stopped = poll.stop();
    waiting[4]?.([]);
    await stopped;

    expect(duringOutage).toEqual([acme]);
    expect(log.events().map((e) => [e.level, e.event])).toEqual([
      ['info', 'kill_switch.synced'],
      ['warn', 'kill_switch.sync_failed'],
      ['info', 'kill_switch.sync_restored'],
    ]);
    expect(log.events('kill_switch.sync_failed')[0]?.err).toBe(
      'the ledger database cannot be reached',
    );
  });

  it('starts no read after stop', async () => {
    const { ledger, waiting } = heldLedger();
    const poll = pollKillSwitches({
      ledger,
      enforcer: () => recordingEnforcer(),
      logger: capturedLogger().logger,
      intervalMs: 5,
    });

    await poll.stop();
    await new Promise((resolve) => setTimeout(resolve, 30));

    expect(waiting).toEqual([]);
  });
});
