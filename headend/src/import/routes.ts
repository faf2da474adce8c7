/**
 * Bulk registry import: POST the CSV or .xlsx file as the body. All-or-nothing: one transaction,
 * every row checked, any error → nothing applied and the full list of errors (row, column, problem).
 * `dry_run=true` runs the same import and rolls back, reporting what would change.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireOwned, requirePermission } from '../auth/index.js';
import { importRegistry, ImportKind, ImportReport } from './index.js';
import { badRequest } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, type RouteDeps } from '../http/context.js';

const importRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db }) => {
  app.post('/import/registry', {
    schema: {
      tags: ['import'],
      summary: 'Import buildings, premises, accounts and meters from CSV (one kind per file, ?kind=) or Excel (one sheet per kind: buildings, premises, accounts, meters)',
      description: 'The file is the request body. Rows are matched by external ids and addresses of the organisation; existing records are updated, new ones created. All-or-nothing: a refused row means nothing is stored, and the answer lists each row with its problem; dry_run=true reports what would change without storing it.',
      querystring: z.object({
        kind: ImportKind.optional().describe('For a CSV file: which kind of record it holds (buildings, premises, accounts or meters)'),
        dry_run: z.enum(['true', 'false']).default('false').describe('true: check and report, store nothing'),
        org_id: z.coerce.number().int().positive().describe('The organisation the records belong to'),
      }),
      response: { 200: ImportReport, 422: ImportReport, ...errors },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'import:run');
    // Another organisation answers as one that does not exist (the tenancy resolver), before the file is read.
    await requireOwned(db, p, 'organisation', req.query.org_id);
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw badRequest('send the file as the request body with Content-Type text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const report = await importRegistry(db, {
      file: req.body, contentType: req.headers['content-type'], kind: req.query.kind, orgId: req.query.org_id,
      dryRun: req.query.dry_run === 'true', principal: p, actor: actorOf(req), requestId: req.id,
    });
    return reply.code(report.ok ? 200 : 422).send(report);
  });
};

export default importRoutes;
