export * from './glossary.js';
export * from './resources.js';
export * from './heat.js';
