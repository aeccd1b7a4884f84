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
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[format as ExportFormat],
    'content-disposition': `attachment; filename="spendgate-${format}.${format === 'focus' ? 'csv' : format}"`,
  });
  const rows = filter ? ledgerRows(deps.ledger, filter) : noRows();
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
