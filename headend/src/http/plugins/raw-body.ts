/**
 * Import uploads arrive as the raw file body (CSV text or an .xlsx workbook) rather than multipart:
 * one file per request keeps the API simple for curl and scripts (`--data-binary @file.xlsx`).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export default fp(async function rawBodyPlugin(app: FastifyInstance) {
  for (const type of ['text/csv', XLSX_TYPE, 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }
}, { name: 'amr-raw-body' });
