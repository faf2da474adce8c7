export * from './types.js';
export * from './mbus-profiles.js';
export * from './apply.js';
export * from './archives.js';
