export * from './glossary.js';
export * from './resources.js';
export * from './registers.js';
export * from './heat.js';
