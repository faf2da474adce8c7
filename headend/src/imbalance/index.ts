// Imbalance service: compute, store and recompute reports of building meters against the meters behind them.
export * from './types.js';
export { computeBuildingImbalance, ImbalanceError, type ComputeOptions, type ImbalanceComputation, type TxQueryable } from './service.js';
export { defineImbalanceJobs, enqueueImbalanceRecompute, imbalanceDepsOf, RECOMPUTE_JOB, RECOMPUTE_ALL_JOB, RECOMPUTE_DIRTY_JOB, DEFAULT_DIRTY_EVERY_MS, RecomputeData, type ImbalanceDeps } from './jobs.js';
export { markLateReadings, recomputeDirty, dirtyMarks, type DirtyMark, type DirtyDrain, type LateCandidate } from './dirty.js';
export { periodsBetween, localPeriodLiteral, type PeriodBounds } from './periods.js';
export { rowToReport, REPORT_COLUMNS, type ReportRow } from './reports.js';
export { listThresholds, upsertThreshold, setThresholds, rejudgeReports, thresholdsFromRow, type ThresholdRow, type Rejudged } from './thresholds.js';
export { buildingTimezone, localInstant, buildingReports, reportsOfPeriod, buildingMeterResources, type ReportFilter, type BuildingPeriodReports } from './report-store.js';
