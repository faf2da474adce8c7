/**
 * Residents' access per building: the accounts with the state of their one-time codes, invite letters
 * for a whole building (new codes, one PDF), and revocation of an account's code. Issuing and revoking
 * need registry:write, as the single-account code does (collection/routes.ts); the building or account
 * is resolved through auth/tenancy.ts, so another organisation's answers 404 like a missing one.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireOwned, requirePermission } from '../auth/index.js';
import { HttpError } from '../http/errors.js';
import { principal } from '../http/plugins/auth.js';
import { actorOf, errors, IdParams, Timestamp, type RouteDeps } from '../http/context.js';
import { issueBuildingCodes, listAccountAccess, revokeAccountCode } from './access-store.js';
import { renderInviteLetters } from './letters.js';
import { pdfFonts } from '../util/pdf-fonts.js';

const AccessRow = z.object({
  account_id: z.number(), account_number: z.string(), holder_name: z.string().nullable(), premise_id: z.number(), premise_number: z.string(),
  state: z.enum(['none', 'active', 'used', 'revoked', 'expired']).describe('the latest code: none issued, active (can sign in), used, revoked or expired'),
  issued_at: Timestamp.nullable(), issued_by: z.string().nullable().describe('username of who issued it'), expires_at: Timestamp.nullable(),
  used_at: Timestamp.nullable(), revoked_at: Timestamp.nullable(),
});
const LettersBody = z.object({
  accounts: z.enum(['without_code', 'all']).describe('without_code: the open accounts that have no live code (never issued, used, expired or revoked); all: every open account (their unused codes stop working)'),
  valid_days: z.number().int().min(1).max(90).default(30).describe('days the new codes stay valid'),
});

const accessRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { db, config, codeKey }) => {
  app.get('/buildings/:id/access-codes', {
    schema: {
      tags: ['collection'], summary: 'The open personal accounts of a building with the state of their residents\' access code',
      description: 'One row per open account of the building: flat, account number and its latest one-time code — none, active (until expires_at), used (when), revoked or expired — with who issued it and when. Codes themselves are never shown again.',
      params: IdParams, response: { 200: z.object({ items: z.array(AccessRow) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:read');
    await requireOwned(db, p, 'building', req.params.id);
    return { items: await listAccountAccess(db, req.params.id) };
  });

  app.post('/buildings/:id/access-codes', {
    schema: {
      tags: ['collection'], summary: 'Invite letters for a building: new one-time codes for its accounts, as one PDF (one A4 page per account)',
      description: 'Issues a code for every open account of the building (`all`) or for those without a live code (`without_code`), in one transaction, each audited, and answers a PDF: per account the address, flat, account number, the code, the residents\' page link with account and code in its query, its QR code and instructions. The codes are in this PDF only (the database keeps hashes). 409 when no account is to get a code. The header x-letters gives the number of letters.',
      params: IdParams, body: LettersBody,
      response: { 200: z.any().describe('application/pdf: the letters'), ...errors, 503: errors[404] },
    },
  }, async (req, reply) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    await requireOwned(db, p, 'building', req.params.id);
    // Before any code is issued: codes that cannot be printed would be lost.
    try {
      pdfFonts();
    } catch (e) {
      throw new HttpError(503, 'unavailable', (e as Error).message);
    }
    const { building, letters } = await issueBuildingCodes(db, codeKey, req.params.id, req.body.accounts, p.kind === 'user' ? p.id : null, req.body.valid_days, actorOf(req), req.id);
    // The link residents open: PUBLIC_URL, else this head-end as the office reached it (behind a proxy,
    // TRUST_PROXY decides which host counts) — an office on the LAN address would print a link residents cannot open.
    const pdf = await renderInviteLetters(building, letters, config.PUBLIC_URL ?? `${req.protocol}://${req.host}`);
    reply.header('content-disposition', `attachment; filename="invites-${building.id}-${app.clock().toISOString().slice(0, 10)}.pdf"`);
    reply.header('x-letters', String(letters.length));
    reply.header('cache-control', 'no-store');
    return reply.type('application/pdf').send(pdf);
  });

  app.delete('/accounts/:id/access-code', {
    schema: {
      tags: ['collection'], summary: 'Revoke the live one-time access code of a personal account',
      description: 'The account\'s unused, unexpired code stops working at once (a lost or misdelivered letter); audited. 409 when the account has no live code. A resident already signed in keeps their session; issue a new code to let them in again later.',
      params: IdParams, response: { 200: z.object({ account_id: z.number(), account_number: z.string(), revoked: z.literal(true) }), ...errors },
    },
  }, async (req) => {
    const p = principal(req);
    requirePermission(p, 'registry:write');
    await requireOwned(db, p, 'account', req.params.id);
    const r = await revokeAccountCode(db, req.params.id, p.kind === 'user' ? p.id : null, actorOf(req), req.id);
    return { account_id: r.accountId, account_number: r.accountNumber, revoked: true as const };
  });
};

export default accessRoutes;
