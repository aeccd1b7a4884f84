import type { GroupKey } from '../../ledger/ledger.js';
import { formatUsdColumn } from '../../money/display.js';
import { UsageError } from '../args.js';
import { formatTable, openConfiguredLedger, sinceToMs } from '../ledger-access.js';

const BY = ['org', 'team', 'user', 'endpoint', 'model', 'provider', 'upstream', 'key'];

/**
 * `spendgate report --by team --since 7d [--top 20]`: top spenders as a terminal table. Throws
 * {@link UsageError} for a dimension it cannot group by.
 */
export async function runReport(
  configFile: string,
  opts: {
    by: string;
    since: string;
    top: number;
    nowMs: number;
    out: (line: string) => void;
  },
): Promise<number> {
  if (!BY.includes(opts.by) && !opts.by.startsWith('tag:')) {
    throw new UsageError(`--by must be one of ${BY.join(', ')} or tag:<name>`);
  }
  const fromMs = sinceToMs(opts.since, opts.nowMs);
  const { ledger } = openConfiguredLedger(configFile);
  try {
    // Highest cost first, as the spend query answers.
    const groups = await ledger.querySpend({ groupBy: [opts.by as GroupKey], filter: { fromMs } });
    const total = groups.reduce((sum, g) => sum + g.costPico, 0n);
    const shown = groups.slice(0, opts.top);
    // Exact amounts with one number of decimals for the rows and the total: rounded figures
    // would not add up to the total printed under them.
    const amounts = formatUsdColumn([...shown.map((g) => g.costPico), total]);
    // Requests of a model with no price cost an unknown amount, left out of the sums above: the
    // table says how many there were instead of letting them pass for free.
    const unpriced = groups.reduce((sum, g) => sum + g.unpricedRequests, 0);
    const rows = shown.map((g, i) => [
      // A request refused before its model (or any value) was known has '' there.
      g.values[opts.by] || '(none)',
      amounts[i] ?? '',
      total === 0n ? '0.0%' : `${((Number(g.costPico) / Number(total)) * 100).toFixed(1)}%`,
      String(g.requests),
      String(g.inputTokens),
      String(g.outputTokens),
      ...(unpriced > 0 ? [String(g.unpricedRequests)] : []),
    ]);
    const heads = [opts.by, 'cost (USD)', 'share', 'requests', 'input tokens', 'output tokens'];
    if (unpriced > 0) heads.push('unpriced');
    opts.out(`Spend by ${opts.by}, last ${opts.since} (since ${new Date(fromMs).toISOString()})`);
    opts.out(formatTable(heads, rows, new Set(heads.map((_, i) => i).slice(1))));
    const hidden = groups.length > shown.length ? `, the top ${shown.length} shown` : '';
    opts.out(
      `total ${amounts.at(-1) ?? '0.00'} USD over ${groups.length} ${opts.by} value(s)${hidden}`,
    );
    if (unpriced > 0) {
      opts.out(
        `${unpriced} request(s) had no price and are not in the costs above: ` +
          'add their models under pricing.models, or set pricing.unknown_model',
      );
    }
    return 0;
  } finally {
    await ledger.close();
  }
}
