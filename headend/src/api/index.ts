/** The head-end HTTP API: `createApiServer` is called by the head-end's startup. */
export { createApiServer, type ApiDeps } from './server.js';
export { type ApiConfig, ttlSeconds } from '../http/config.js';
export { HttpError } from '../http/errors.js';
