import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import {
  EXPORT_FORMATS,
  exportChunks,
  ledgerRows,
  splitCsv,
  type ExportFormat,
} from '../../export/index.js';
import { FILTER_COLUMNS, type RowFilter } from '../../ledger/ledger.js';
import { createPricer } from '../../pricing/index.js';
import { openConfiguredLedger } from '../ledger-access.js';
import { UsageError } from '../args.js';
import { parseIsoTime } from '../../api/http.js';

export type ExportArgs = {
  format: string;
  from?: string;
  to?: string;
  /** Dimension filters (`--org acme`) and tags (`--tag app=search`). */
  dims: Record<string, string>;
  tags: Record<string, string>;
  bucket: string;
  /** Write to this file instead of stdout. */
  output?: string;
  /** FOCUS only: write files of at most 10,000 rows / 2 MB (Vantage's upload limits) here. */
  splitDir?: string;
};

/** `spendgate export`: the admin export from the local ledger, to stdout, a file or split files. */
export async function runExport(
  configFile: string,
  args: ExportArgs,
  io: { stdout: NodeJS.WritableStream; out: (line: string) => void },
): Promise<number> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(args.format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
  }
  if (args.bucket !== 'hour' && args.bucket !== 'day') {
    throw new UsageError('--bucket must be hour or day');
  }
  if (args.splitDir && args.format !== 'focus' && args.format !== 'csv') {
    throw new UsageError('--split-dir applies to csv and focus exports');
  }
  const filter: RowFilter = {};
  for (const [name, value] of Object.entries(args.dims)) {
    if (!(FILTER_COLUMNS as readonly string[]).includes(name)) continue;
    filter[name as (typeof FILTER_COLUMNS)[number]] = value;
  }
  if (Object.keys(args.tags).length > 0) filter.tags = args.tags;
  for (const [key, text] of [
    ['fromMs', args.from],
    ['toMs', args.to],
  ] as const) {
    if (text === undefined) continue;
    // The admin API's reading: UTC unless a zone is given, and no impossible dates.
    const ms = parseIsoTime(text) ?? Number.NaN;
    if (Number.isNaN(ms)) {
      throw new UsageError(`--${key === 'fromMs' ? 'from' : 'to'}: not an ISO 8601 time: ${text}`);
    }
    filter[key] = ms;
  }

  const { config, ledger } = openConfiguredLedger(configFile);
  try {
    const chunks = exportChunks(args.format as ExportFormat, ledgerRows(ledger, filter), {
      pricer: createPricer(config.raw.pricing),
      bucket: args.bucket,
    });
    if (args.splitDir) {
      mkdirSync(args.splitDir, { recursive: true });
      let files = 0;
      for await (const file of splitCsv(chunks)) {
        const name = join(
          args.splitDir,
          `spendgate-${args.format}-${String(file.index + 1).padStart(4, '0')}.csv`,
        );
        writeFileSync(name, file.text);
        files++;
      }
      io.out(`wrote ${files} file(s) to ${args.splitDir}`);
      return 0;
    }
    const sink = args.output ? createWriteStream(args.output) : io.stdout;
    for await (const chunk of chunks) {
      if (!sink.write(chunk)) await once(sink, 'drain');
    }
    if (args.output) {
      (sink as ReturnType<typeof createWriteStream>).end();
      await once(sink, 'finish');
    }
    return 0;
  } finally {
    await ledger.close();
  }
}
