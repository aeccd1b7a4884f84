import type { RowSource } from './csv.js';

/** Size limits of one CSV file. */
export type SplitLimits = {
  /** Data rows per file, the header line not counted. @default 10_000 */
  maxRows: number;
  /** UTF-8 bytes per file, header included. @default 2 * 1024 * 1024 */
  maxBytes: number;
};

/** One file of a split CSV: the header line followed by whole records. */
export type CsvFile = { index: number; rows: number; bytes: number; text: string };

/** Vantage's custom-provider upload limits for one FOCUS CSV file. */
export const VANTAGE_LIMITS: SplitLimits = { maxRows: 10_000, maxBytes: 2 * 1024 * 1024 };

const QUOTE = 34;
const LF = 10;

/**
 * Splits a CSV stream into files within both limits, each starting with the stream's header
 * line. Records are found by their line end outside quotes, so a cell holding a line break
 * never splits a record; a record too large for any file is an error.
 */
export async function* splitCsv(
  chunks: RowSource<string>,
  limits: SplitLimits = VANTAGE_LIMITS,
): AsyncIterable<CsvFile> {
  let header: string | null = null;
  let headerBytes = 0;
  let parts: string[] = [];
  let rows = 0;
  let bytes = 0;
  let index = 0;
  let pending = '';
  let inQuotes = false;

  const finish = (): CsvFile => {
    const file = { index: index++, rows, bytes, text: parts.join('') };
    parts = [header ?? ''];
    rows = 0;
    bytes = headerBytes;
    return file;
  };

  for await (const chunk of chunks) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i);
      if (code === QUOTE) inQuotes = !inQuotes;
      else if (code === LF && !inQuotes) {
        const record = pending + chunk.slice(start, i + 1);
        pending = '';
        start = i + 1;
        const size = Buffer.byteLength(record);
        if (header === null) {
          header = record;
          headerBytes = size;
          parts = [record];
          bytes = size;
          continue;
        }
        if (headerBytes + size > limits.maxBytes) {
          throw new RangeError(`a CSV record of ${size} bytes does not fit in one file`);
        }
        if (rows + 1 > limits.maxRows || bytes + size > limits.maxBytes) yield finish();
        parts.push(record);
        rows++;
        bytes += size;
      }
    }
    pending += chunk.slice(start);
  }

  if (pending !== '') throw new RangeError('the CSV stream ends inside a record');
  if (rows > 0 || (index === 0 && header !== null)) yield finish();
}
