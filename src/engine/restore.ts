import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config/prepare.js';
import { GatewayError } from '../errors.js';
import type { Ledger, SpendRow } from '../ledger/ledger.js';
import type { Logger } from '../log/logger.js';
import type { BudgetItem, CounterStore } from '../store/store.js';
import { createEnforcer, type Enforcer } from './engine.js';
import { loadKillSwitches } from './kill-switch-sync.js';

/** What a start restores from the ledger, and into what. */
export type RestoreTarget = {
  config: GatewayConfig;
  enforcer: Enforcer;
  ledger: Ledger;
  store: CounterStore;
  clock: Clock;
  logger: Logger;
};

/** How often a start tries the ledger again while it cannot be read. */
const RETRY_MS = 2_000;
/** How often a start looks whether the spool of a previous run is written back. */
const SPOOL_POLL_MS = 25;

/**
 * Loads the kill switches and rebuilds budget counters from the ledger's rows of the live
 * periods (a budget 90% spent before a restart is 90% spent after it).
 *
 * When the ledger's database cannot be read at start, `storage.on_store_down` decides:
 * `fail_closed` waits (the gateway listens once it could restore), `fail_open` starts at once
 * without kill switches or past spend and restores both in the background when the database
 * answers. The late restore adds only the rows admitted before the start: the counters
 * charged every request since.
 */
export async function restoreFromLedger(target: RestoreTarget, retryMs = RETRY_MS): Promise<void> {
  const startedMs = target.clock.now();
  try {
    await restore(target, startedMs, false);
    return;
  } catch (err) {
    if (!isUnavailable(err)) throw err;
  }

  const failClosed = target.config.raw.storage.on_store_down === 'fail_closed';
  target.logger.warn(
    { event: 'ledger.restore_deferred', on_store_down: failClosed ? 'fail_closed' : 'fail_open' },
    failClosed
      ? 'the ledger cannot be read: the gateway starts once kill switches and budgets are restored'
      : 'the ledger cannot be read: serving without its kill switches and past spend until it answers',
  );
  const retried = retryRestore(target, startedMs, retryMs);
  if (failClosed) await retried;
  else void retried;
}

async function retryRestore(
  target: RestoreTarget,
  startedMs: number,
  retryMs: number,
): Promise<void> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
    try {
      await restore(target, startedMs, true);
      target.logger.info(
        { event: 'ledger.restored' },
        'kill switches and budgets restored from the ledger',
      );
      return;
    } catch (err) {
      if (!isUnavailable(err)) {
        target.logger.error(
          { event: 'ledger.restore_failed', err: (err as Error).message },
          'kill switches and budgets could not be restored from the ledger',
        );
        return;
      }
    }
  }
}

async function restore(target: RestoreTarget, startedMs: number, late: boolean): Promise<void> {
  const { enforcer, ledger, store, clock, config } = target;
  // Rows spooled before this start (an outage, then a crash) are part of the past spend.
  await spoolWritten(ledger);
  await loadKillSwitches(ledger, enforcer);

  const nowMs = clock.now();
  const fromMs = enforcer.seedSinceMs(nowMs);
  if (!Number.isFinite(fromMs)) return;
  // Every served row, priced or not: request and token limits count unpriced requests too.
  const rows = ledger.spendRows(fromMs, { served: true });
  if (!late || store.shared) {
    // A shared store keeps the larger of its figure and the ledger's: seeding late is safe.
    await enforcer.seed(rows, nowMs);
    return;
  }
  // This gateway's own counters already hold what it served since the start: add the rest.
  const seeder = createEnforcer({
    budgets: config.raw.budgets ?? [],
    rateLimits: config.raw.rate_limits ?? [],
    store: addingStore(store, clock),
    clock,
  });
  await seeder.seed(admittedBefore(rows, startedMs), nowMs);
}

/** Waits until the ledger has no spooled rows left; fails while its database is out. */
async function spoolWritten(ledger: Ledger): Promise<void> {
  for (;;) {
    const health = ledger.health();
    if (health.state === 'down') {
      throw new GatewayError('store_unavailable', 'the ledger database cannot be reached');
    }
    if (health.spooledRows === 0) return;
    await new Promise((resolve) => setTimeout(resolve, SPOOL_POLL_MS));
  }
}

async function* admittedBefore(
  rows: AsyncIterable<SpendRow>,
  beforeMs: number,
): AsyncIterable<SpendRow> {
  for await (const row of rows) if (row.atMs < beforeMs) yield row;
}

/** The store, with `seed` adding to an instance's spend instead of setting it. */
function addingStore(store: CounterStore, clock: Clock): CounterStore {
  return {
    reserve: (items, nowMs) => store.reserve(items, nowMs),
    commit: (reservation, actual, nowMs) => store.commit(reservation, actual, nowMs),
    release: (reservation, nowMs) => store.release(reservation, nowMs),
    snapshot: () => store.snapshot(),
    sweep: (nowMs) => store.sweep(nowMs),
    async seed(key, committed, expiresAtMs) {
      const item: BudgetItem = {
        kind: 'budget',
        key,
        amount: committed,
        maxAfter: null,
        expiresAtMs,
      };
      const nowMs = clock.now();
      const result = await store.reserve([item], nowMs);
      if (result.ok) await store.commit(result.reservation, [committed], nowMs);
    },
  };
}

function isUnavailable(err: unknown): boolean {
  return err instanceof GatewayError && err.code === 'store_unavailable';
}
