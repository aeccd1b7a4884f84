import type { Ledger, RowFilter } from '../ledger/ledger.js';
import type { LedgerRow } from '../ledger/row.js';
import type { Pricer } from '../pricing/index.js';
import { rowsToCsv } from './csv.js';
import { pricerBreakdown, rowsToFocus, type FocusBucket } from './focus.js';
import { rowsToJson, rowsToNdjson } from './json.js';

/** The export formats of `GET /api/v1/export` and `spendgate export`. */
export const EXPORT_FORMATS = ['csv', 'json', 'ndjson', 'focus'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The content type each format is served with. */
export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  focus: 'text/csv; charset=utf-8',
};

/** Rows read from the ledger a page at a time. */
const PAGE_ROWS = 1_000;

/**
 * The ledger rows matching `filter`, oldest first, read in pages by a keyset cursor, so an
 * export of millions of rows holds one page in memory and never keeps a statement open while
 * it waits for a slow client.
 */
export async function* ledgerRows(ledger: Ledger, filter: RowFilter): AsyncIterable<LedgerRow> {
  let after: { ts: number; id: string } | null = null;
  for (;;) {
    const page = await ledger.scanRows(filter, after, PAGE_ROWS);
    yield* page;
    const last = page[page.length - 1];
    if (page.length < PAGE_ROWS || !last) return;
    after = { ts: last.timestampMs, id: last.requestId };
  }
}

/** An export as text chunks, in constant memory: one per request, or FOCUS charges. */
export function exportChunks(
  format: ExportFormat,
  rows: AsyncIterable<LedgerRow>,
  opts: { pricer: Pricer; bucket?: FocusBucket },
): AsyncIterable<string> {
  switch (format) {
    case 'csv':
      return rowsToCsv(rows);
    case 'json':
      return rowsToJson(rows);
    case 'ndjson':
      return rowsToNdjson(rows);
    case 'focus':
      return rowsToFocus(rows, {
        breakdown: pricerBreakdown(opts.pricer),
        bucket: opts.bucket ?? 'hour',
      });
  }
}
