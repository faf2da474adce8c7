import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from './context.js';

// Stub until built (issue 7).
const collectionRoutes: FastifyPluginAsyncZod<RouteDeps> = async () => {};
export default collectionRoutes;
