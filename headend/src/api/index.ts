/** The head-end HTTP API: `createApiServer` is called by the head-end's startup. */
export { createApiServer, type ApiDeps } from './server.js';
export { type ApiConfig, ttlSeconds } from './config.js';
export { HttpError } from './http-error.js';
