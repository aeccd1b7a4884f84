import { toJson } from '../api/json.js';
import { rowToExport } from '../api/row-json.js';
import type { LedgerRow } from '../ledger/row.js';
import { CSV_BATCH_ROWS, type RowSource } from './csv.js';

/** Turns a row into its exported JSON object; the default is the ledger row's export shape. */
export type JsonShape<T> = (row: T) => unknown;

const defaultShape = rowToExport as JsonShape<unknown>;

async function* joined<T>(
  rows: RowSource<T>,
  shape: JsonShape<T>,
  open: string,
  separator: string,
  close: string,
): AsyncIterable<string> {
  let batch = open;
  let count = 0;
  let first = true;
  for await (const row of rows) {
    // Values go through `toJson`, so costs stay exact decimals (`0.0000000001`, never `1e-10`)
    // and strings are kept as stored: neutralising formulas is the CSV writer's job only.
    batch += (first ? '' : separator) + toJson(shape(row));
    first = false;
    if (++count >= CSV_BATCH_ROWS) {
      yield batch;
      batch = '';
      count = 0;
    }
  }
  yield batch + close;
}

/** Streams rows as one JSON array: `[`, the rows joined by `,\n`, then `]`. */
export function rowsToJson<T = LedgerRow>(
  rows: RowSource<T>,
  shape: JsonShape<T> = defaultShape,
): AsyncIterable<string> {
  return joined(rows, shape, '[', ',\n', ']');
}

/** Streams rows as NDJSON: one JSON object per line, each ended by `\n`. */
export function rowsToNdjson<T = LedgerRow>(
  rows: RowSource<T>,
  shape: JsonShape<T> = defaultShape,
): AsyncIterable<string> {
  return ndjson(rows, shape);
}

async function* ndjson<T>(rows: RowSource<T>, shape: JsonShape<T>): AsyncIterable<string> {
  let batch = '';
  let count = 0;
  for await (const row of rows) {
    batch += toJson(shape(row)) + '\n';
    if (++count >= CSV_BATCH_ROWS) {
      yield batch;
      batch = '';
      count = 0;
    }
  }
  if (batch !== '') yield batch;
}
