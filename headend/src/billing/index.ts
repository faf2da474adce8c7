// Billing maths: pure functions (tariffs, accrual with average/norm fallback, provenance,
// common-house distribution, recalculation of closed periods). Storage and API live elsewhere.
export * from './money.js';
export * from './tariffs.js';
export * from './rules.js';
export * from './accrual.js';
export * from './provenance.js';
export * from './area.js';
export * from './distribution.js';
export * from './adjustments.js';
export * from './units.js';
