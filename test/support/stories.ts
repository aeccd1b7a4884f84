import type { LedgerRow } from '../../src/ledger/row.js';
import type { RequestPage, RowFilter } from '../../src/ledger/ledger.js';
import type { TestGateway } from './gateway.js';

/** Every ledger row matching `filter`, oldest first, paging past the 1,000 rows of `rows()`. */
export async function allRowsOf(gateway: TestGateway, filter: RowFilter): Promise<LedgerRow[]> {
  await gateway.deps.ledger.flush();
  const rows: LedgerRow[] = [];
  let cursor: string | null = null;
  do {
    const page: RequestPage = await gateway.deps.ledger.queryRequests(filter, 1000, cursor);
    rows.push(...page.rows);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return rows.reverse();
}

/** The nearest-rank percentile of a list of numbers (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}
