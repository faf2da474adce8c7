export * from './gateway.js';
export * from './reading.js';
