export * from './worker.js';
export * from './scheduler.js';
