export * from './outbox.js';
export * from './journal.js';
export * from './record.js';
