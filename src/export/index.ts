/** Exports: CSV, JSON and NDJSON of ledger rows, FOCUS 1.2 charges, and file splitting. */
export {
  CSV_BATCH_ROWS,
  LEDGER_CSV_GETTERS,
  batchLines,
  csvCell,
  csvLine,
  rowsToCsv,
  type CsvGetter,
  type RowSource,
} from './csv.js';
export { rowsToJson, rowsToNdjson, type JsonShape } from './json.js';
export {
  FOCUS_COLUMNS,
  FOCUS_CUSTOM_COLUMNS,
  FOCUS_MANDATORY_COLUMNS,
  FOCUS_OPTIONAL_COLUMNS,
  PROVIDER_NAMES,
  providerNames,
  type FocusColumn,
  type ProviderNames,
} from './focus-columns.js';
export {
  pricerBreakdown,
  rowsToFocus,
  scaledDecimal,
  type Breakdown,
  type ChargeClass,
  type FocusBucket,
  type FocusExport,
  type FocusOptions,
  type FocusStats,
} from './focus.js';
export { VANTAGE_LIMITS, splitCsv, type CsvFile, type SplitLimits } from './split.js';
export {
  CONTENT_TYPES,
  EXPORT_FORMATS,
  exportChunks,
  ledgerRows,
  type ExportFormat,
} from './formats.js';
