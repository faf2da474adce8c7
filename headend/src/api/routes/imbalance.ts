import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from './context.js';

// Stub until built.
const imbalanceRoutes: FastifyPluginAsyncZod<RouteDeps> = async () => {};
export default imbalanceRoutes;
