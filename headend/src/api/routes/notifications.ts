/**
 * Notification settings and logs of reading collection (issue 7). (Stub: filled in next.)
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from './context.js';

const notificationRoutes: FastifyPluginAsyncZod<RouteDeps> = async () => {};
export default notificationRoutes;
