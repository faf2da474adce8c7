export * from './connection.js';
export * from './publisher.js';
export * from './commands.js';
