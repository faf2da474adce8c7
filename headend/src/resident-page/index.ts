/**
 * Residents' page (issue 7): a phone-first static page under /resident/. (Stub: filled in next.)
 */
import type { FastifyPluginAsync } from 'fastify';

export const residentPagePlugin: FastifyPluginAsync = async () => {};
