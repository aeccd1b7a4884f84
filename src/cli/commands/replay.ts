import { loadConfigFile } from '../../config/load.js';
import { fakeClock } from '../../clock.js';
import { createEnforcer } from '../../engine/engine.js';
import { picoToDecimal } from '../../money/money.js';
import type { SpendRow } from '../../ledger/ledger.js';
import { MemoryStore } from '../../store/memory.js';
import { formatTable, openConfiguredLedger, sinceToMs } from '../ledger-access.js';

/** What a policy would have done to past traffic. */
export type ReplayResult = {
  requests: number;
  warned: number;
  throttled: number;
  rejected: number;
  /** Spend of the requests it would have rejected. */
  savedPico: bigint;
  /** Spend it would have let through. */
  allowedPico: bigint;
  byReason: Map<string, { requests: number; pico: bigint }>;
};

/**
 * `spendgate replay --policy new.yaml --since 30d`: every request the ledger served since then
 * goes, in admission order, through the budgets and rate limits of another policy file, on a
 * clock set to each row's time. Each request reserves exactly what it cost and settles before
 * the next one (past requests' `max_tokens` are not in the ledger), so the figures are what
 * the policy would have done to that traffic with no concurrency.
 */
export async function runReplay(
  configFile: string,
  opts: { policy: string; since: string; nowMs: number; out: (line: string) => void },
): Promise<number> {
  const policy = loadConfigFile(opts.policy).raw;
  const fromMs = sinceToMs(opts.since, opts.nowMs);
  const { ledger } = openConfiguredLedger(configFile);
  try {
    const result = await replay(
      ledger.spendRows(fromMs, { served: true }),
      policy.budgets ?? [],
      policy.rate_limits ?? [],
      fromMs,
    );
    printReplay(result, opts);
    return 0;
  } finally {
    await ledger.close();
  }
}

/** Runs rows through a fresh enforcer; exported for tests. */
export async function replay(
  rows: Iterable<SpendRow> | AsyncIterable<SpendRow>,
  budgets: Parameters<typeof createEnforcer>[0]['budgets'],
  rateLimits: Parameters<typeof createEnforcer>[0]['rateLimits'],
  fromMs: number,
): Promise<ReplayResult> {
  const clock = fakeClock(fromMs);
  const enforcer = createEnforcer({ budgets, rateLimits, store: new MemoryStore(), clock });
  const result: ReplayResult = {
    requests: 0,
    warned: 0,
    throttled: 0,
    rejected: 0,
    savedPico: 0n,
    allowedPico: 0n,
    byReason: new Map(),
  };

  for await (const row of rows) {
    clock.set(row.atMs);
    result.requests++;
    const admission = await enforcer.admit({
      dims: row.dims,
      costPico: row.costPico,
      tokens: row.tokens,
    });
    if (!admission.allowed) {
      result.rejected++;
      result.savedPico += row.costPico;
      const entry = result.byReason.get(admission.reason) ?? { requests: 0, pico: 0n };
      entry.requests++;
      entry.pico += row.costPico;
      result.byReason.set(admission.reason, entry);
      continue;
    }
    if (admission.action === 'warn') result.warned++;
    if (admission.action === 'throttle') result.throttled++;
    result.allowedPico += row.costPico;
    await admission.hold.settle(row.costPico, row.tokens);
  }
  return result;
}

function printReplay(
  r: ReplayResult,
  opts: { policy: string; since: string; out: (line: string) => void },
): void {
  opts.out(`Replay of the last ${opts.since} through ${opts.policy}: ${r.requests} request(s)`);
  opts.out(
    formatTable(
      ['outcome', 'requests', 'spend (USD)'],
      [
        ['served', String(r.requests - r.rejected), picoToDecimal(r.allowedPico)],
        ['  of which warned', String(r.warned), ''],
        ['  of which throttled', String(r.throttled), ''],
        ['rejected', String(r.rejected), picoToDecimal(r.savedPico)],
        ...[...r.byReason].map(([reason, e]) => [
          `  ${reason}`,
          String(e.requests),
          picoToDecimal(e.pico),
        ]),
      ],
      new Set([1, 2]),
    ),
  );
  opts.out(`spend it would have saved: ${picoToDecimal(r.savedPico)} USD`);
}
