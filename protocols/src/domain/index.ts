export * from './glossary.js';
export * from './resources.js';
