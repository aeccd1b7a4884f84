/**
 * Kill switches live in the ledger; each gateway enforces the copy its enforcer holds. A shared
 * ledger (PostgreSQL) is changed by every replica's admin API, so a gateway on one reads the
 * switches again every {@link KILL_SWITCH_POLL_MS}, off the request path: a switch set or lifted
 * on any replica is in force on all of them within that time.
 */
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log/logger.js';
import type { KillSwitch } from '../policy/kill-switch.js';
import type { Enforcer } from './engine.js';

/** How often a gateway on a shared ledger reads the kill switches other replicas may change. */
export const KILL_SWITCH_POLL_MS = 2_000;

/** What one load changed in an enforcer's switches. */
export type KillSwitchChange = { added: readonly KillSwitch[]; removed: readonly string[] };

/** Numbers every load in the order it started, across enforcers. */
let loadsStarted = 0;
/** The load last applied to each enforcer, and the ids it held. */
const applied = new WeakMap<Enforcer, { load: number; ids: ReadonlySet<string> }>();

/** Whether the ledger a config names is one several gateways share. */
export function isSharedLedger(spec: string): boolean {
  return /^postgres(ql)?:\/\//.test(spec);
}

/**
 * Reads the ledger's kill switches into `enforcer`; resolves to what changed, or null when the
 * load was dropped. A poll and an admin call can load at once. A database read sees what was
 * committed before it started, so a load that started before the one last applied may predate
 * a switch that one saw: applying it would lift an operator's block for a poll interval.
 */
export async function loadKillSwitches(
  ledger: Ledger,
  enforcer: Enforcer,
): Promise<KillSwitchChange | null> {
  const load = ++loadsStarted;
  const records = await ledger.killSwitches.load();

  const before = applied.get(enforcer);
  if (before && before.load > load) return null;
  enforcer.setKillSwitches(records);
  const ids = new Set(records.map((r) => r.id));
  applied.set(enforcer, { load, ids });

  return {
    added: records.filter((r) => !before?.ids.has(r.id)),
    removed: before ? [...before.ids].filter((id) => !ids.has(id)) : [],
  };
}

/** A running poll; `stop` resolves once a load in flight has finished. */
export type KillSwitchPoll = { stop(): Promise<void> };

export type KillSwitchPollOptions = {
  ledger: Ledger;
  /** The enforcer requests use now: a reload replaces it. */
  enforcer: () => Enforcer;
  logger: Logger;
  /** @default KILL_SWITCH_POLL_MS */
  intervalMs?: number;
};

/**
 * Loads the kill switches every `intervalMs` until stopped. A failed load changes nothing (the
 * switches last read stay in force) and is logged once, until one succeeds again; the timer
 * never keeps the process alive.
 */
export function pollKillSwitches(options: KillSwitchPollOptions): KillSwitchPoll {
  const { ledger, logger } = options;
  const intervalMs = options.intervalMs ?? KILL_SWITCH_POLL_MS;
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    try {
      const change = await loadKillSwitches(ledger, options.enforcer());
      if (stopped) return;
      if (failing) {
        failing = false;
        logger.info({ event: 'kill_switch.sync_restored' }, 'kill switches are read again');
      }
      if (change && (change.added.length > 0 || change.removed.length > 0)) {
        logger.info(
          {
            event: 'kill_switch.synced',
            added: change.added.map((k) => ({ id: k.id, dimension: k.dimension, value: k.value })),
            removed: change.removed,
          },
          'kill switches changed on another gateway',
        );
      }
    } catch (err) {
      if (stopped || failing) return;
      failing = true;
      logger.warn(
        { event: 'kill_switch.sync_failed', err: (err as Error).message },
        'cannot read the kill switches: the ones last read stay in force',
      );
    }
  };

  const schedule = (): void => {
    timer = setTimeout(() => {
      inFlight = tick().finally(() => {
        if (!stopped) schedule();
      });
    }, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
