import type { FastifyPluginAsync } from 'fastify';

// Engineers' dashboard (stub until built).
export const dashboardPlugin: FastifyPluginAsync = async () => {};
