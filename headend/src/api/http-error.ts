/** The error catalogue lives in the low http/ kit (src/http/errors.ts), which domain modules may import; routes keep this path. */
export * from '../http/errors.js';
