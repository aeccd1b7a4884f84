import { RawJson } from '../api/json.js';
import { EXPORT_COLUMNS, type LedgerRow } from '../ledger/row.js';
import { numberToPlainDecimal, picoToDecimal } from '../money/money.js';

/** Reads one cell of a row for a named column. */
export type CsvGetter<T> = (row: T) => unknown;

/** Rows that arrive all at once or one by one (a database cursor, a stream). */
export type RowSource<T> = Iterable<T> | AsyncIterable<T>;

/** Lines gathered into one yielded chunk: large enough to be fast, small enough to stream. */
export const CSV_BATCH_ROWS = 500;

const CRLF = '\r\n';
// OWASP CSV injection: a text cell starting with one of these is read as a formula by
// spreadsheets, and quoting does not stop that; a leading apostrophe does.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTE = /"/g;

/**
 * One CSV cell (RFC 4180): numbers, bigints and {@link RawJson} decimals are written as plain
 * decimals and never prefixed; text that could start a formula gets a leading `'` before quoting.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return numberToPlainDecimal(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof RawJson) return value.text;

  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(QUOTE, '""')}"` : text;
}

/** One CSV record of cells, with its CRLF line ending. */
export function csvLine(cells: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) line += ',';
    line += csvCell(cells[i]);
  }
  return line + CRLF;
}

/**
 * The export getters of a ledger row, by column (SPEC "Ledger row"). `tags` is one cell holding
 * a JSON object, so any tag key survives; `flags` is one cell of flag names joined by `;`, since
 * flag names are fixed identifiers that never contain it.
 */
export const LEDGER_CSV_GETTERS: Readonly<Record<string, CsvGetter<LedgerRow>>> = {
  request_id: (r) => r.requestId,
  timestamp: (r) => new Date(r.timestampMs).toISOString(),
  org: (r) => r.org,
  team: (r) => r.team,
  user: (r) => r.user,
  endpoint: (r) => r.endpoint,
  provider: (r) => r.provider,
  upstream: (r) => r.upstream,
  model: (r) => r.model,
  resolved_model: (r) => r.resolvedModel,
  status: (r) => r.status,
  decision: (r) => r.decision,
  reason: (r) => r.reason,
  streamed: (r) => r.streamed,
  input_tokens: (r) => r.inputTokens,
  cached_input_tokens: (r) => r.cachedInputTokens,
  cache_write_tokens: (r) => r.cacheWriteTokens,
  output_tokens: (r) => r.outputTokens,
  reasoning_tokens: (r) => r.reasoningTokens,
  cost_usd: (r) => (r.costPico === null ? null : new RawJson(picoToDecimal(r.costPico))),
  usage_source: (r) => r.usageSource,
  price_source: (r) => r.priceSource,
  flags: (r) => r.flags.join(';'),
  latency_ms: (r) => r.latencyMs,
  tags: (r) => JSON.stringify(r.tags),
  deployment: (r) => r.deployment,
  key: (r) => r.keyId,
  counted_input_tokens: (r) => r.countedInputTokens,
  counted_output_tokens: (r) => r.countedOutputTokens,
};

/** Yields `lines` joined in batches of {@link CSV_BATCH_ROWS}, after an optional first chunk. */
export async function* batchLines(lines: RowSource<string>, first = ''): AsyncIterable<string> {
  let batch = first;
  let count = 0;
  for await (const line of lines) {
    batch += line;
    if (++count >= CSV_BATCH_ROWS) {
      yield batch;
      batch = '';
      count = 0;
    }
  }
  if (batch !== '') yield batch;
}

/**
 * Streams rows as RFC 4180 CSV: a header line, then one CRLF-ended line per row, yielded in
 * chunks of about {@link CSV_BATCH_ROWS} lines. `getters` maps each column to its cell value;
 * the defaults are the ledger row's export columns.
 */
export function rowsToCsv<T = LedgerRow>(
  rows: RowSource<T>,
  columns: readonly string[] = EXPORT_COLUMNS,
  getters: Readonly<Record<string, CsvGetter<T>>> = LEDGER_CSV_GETTERS as Record<
    string,
    CsvGetter<T>
  >,
): AsyncIterable<string> {
  // Resolved once per export, so the per-row loop does no lookups by name.
  const read = columns.map((column) => {
    const getter = getters[column];
    if (!getter) throw new RangeError(`no CSV getter for column ${JSON.stringify(column)}`);
    return getter;
  });
  const cells: unknown[] = new Array<unknown>(read.length);

  async function* lines(): AsyncIterable<string> {
    for await (const row of rows) {
      for (let i = 0; i < read.length; i++) cells[i] = read[i]!(row);
      yield csvLine(cells);
    }
  }

  return batchLines(lines(), csvLine(columns));
}
