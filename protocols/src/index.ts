export * from './contract/index.js';
export * from './domain/index.js';
export * from './mbus/index.js';
export * from './pulse/index.js';
export * from './modbus/index.js';
