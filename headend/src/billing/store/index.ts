// Billing storage and services around the pure maths in src/billing.
export { BillingError, loadBuildingInputs, periodDate, nextPeriod, prevPeriod, type BuildingInputs, type SourceRef } from './inputs.js';
export { computePeriod, closePeriod, recalculateClosed, exportId, rowToLine, listLines, lineTotals, periodStatus, periodState, LINE_COLUMNS, type StoredLine, type LineDbRow } from './service.js';
export { listSettings, getSetting, addSetting, type SettingKind, type SettingVersion, type SettingRow, type NormBasis } from './settings.js';
export { billingFeed, type FeedRow, type FeedValidation } from './feed.js';
export { commonHouseLines, type CommonHouseSummary, type StorableLine } from './common-house.js';
export { heatingLines, type HeatingSummary } from './heating.js';
export { linesXlsx, accountLabels, organisationName, XLSX_HEADER, type AccountLabel } from './export.js';
export { invoicesPdf } from './invoices.js';
export { meteringPoints, pointConsumption, type MeteringPoint, type Segment } from './inputs.js';
