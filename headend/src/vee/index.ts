// Validation, estimation and period alignment (VEE) and the imbalance maths: pure, no I/O.
export * from './types.js';
export * from './register.js';
export * from './rules.js';
export * from './period.js';
export * from './estimation.js';
export * from './imbalance.js';
