/** Bulk registry import from CSV / Excel: all-or-nothing, per-row errors, dry run. */
export { importRegistry, loadTables, ImportReport, RowError, RowChange, type ImportOptions } from './apply.js';
export { ImportKind, KIND_ORDER, ROW_SCHEMAS } from './rows.js';
export { readCsv, readCsvInSlices, readXlsx, detectFormat, columnKey, type SourceTable, type SourceRow } from './table.js';
