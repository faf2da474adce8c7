export * from './schema.js';
export * from './load.js';
export * from './resolve.js';
export * from './timing.js';
export * from './duration.js';
export * from './knowledge.js';
export * from './preflight.js';
