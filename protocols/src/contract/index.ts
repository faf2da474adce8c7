export * from './topics.js';
export * from './quality.js';
export * from './quantities.js';
export * from './messages.js';
