import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from './context.js';

// Stub until built.
const validationRoutes: FastifyPluginAsyncZod<RouteDeps> = async () => {};
export default validationRoutes;
