import { once } from 'node:events';
import {
  CONTENT_TYPES,
  EXPORT_FORMATS,
  exportChunks,
  ledgerRows,
  type ExportFormat,
} from '../../export/index.js';
import { parseIsoTime, sendJsonError, type AdminCall } from '../http.js';
import { scopedFilter } from './requests.js';

/**
 * `GET /export?format=csv|json|ndjson|focus&from=&to=&bucket=hour|day&<dim>=<value>`: every
 * matching row (FOCUS: every charge), oldest first, streamed in constant memory and confined
 * to the token's scope.
 */
export async function getExport({ deps, res, url, token }: AdminCall): Promise<void> {
  const params = url.searchParams;
  const format = params.get('format') ?? 'csv';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    return sendJsonError(
      res,
      400,
      'invalid_request',
      `format must be one of ${EXPORT_FORMATS.join(', ')}`,
    );
  }
  const bucket = params.get('bucket') ?? 'hour';
  if (bucket !== 'hour' && bucket !== 'day') {
    return sendJsonError(res, 400, 'invalid_request', 'bucket must be hour or day');
  }
  const fromMs = parseIsoTime(params.get('from'));
  const toMs = parseIsoTime(params.get('to'));
  if (Number.isNaN(fromMs) || Number.isNaN(toMs)) {
    return sendJsonError(res, 400, 'invalid_request', 'from and to must be ISO 8601 times');
  }
  // A scoped token asking for another scope's rows gets an export with no rows.
  const filter = scopedFilter(params, token);
  if (filter && fromMs !== undefined) filter.fromMs = fromMs;
  if (filter && toMs !== undefined) filter.toMs = toMs;

  // Rows written a moment ago are part of the export.
  await deps.ledger.flush();
  // The first page is read before the status line, so a ledger that cannot be read answers
  // with an error status instead of a 200 cut short.
  const rows = filter ? await started(ledgerRows(deps.ledger, filter)) : noRows();
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[format as ExportFormat],
    'content-disposition': `attachment; filename="spendgate-${format}.${format === 'focus' ? 'csv' : format}"`,
  });
  const chunks = exportChunks(format as ExportFormat, rows, {
    pricer: deps.pricer,
    bucket,
  });
  for await (const chunk of chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
  res.end();
}

async function* noRows(): AsyncIterable<never> {}

/** The rows with the first one already read (its failure thrown here), then the rest. */
async function started<T>(rows: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = rows[Symbol.asyncIterator]();
  const first = await iterator.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield next.value;
    }
  })();
}
