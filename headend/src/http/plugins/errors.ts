/**
 * One JSON error shape for every failure: `{ statusCode, error, code, message, params?, details? }`, where
 * `details` names the field path (`body.serial`) or row, each with its own `code` and `params` where
 * known, so a page says it in the user's language (web-shared/errors.js); `error` repeats `code` for
 * old clients. Database constraint errors become 400/409 with the
 * constraint's own detail, so "serial 123 of make X already exists" reaches the user, not a 500.
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { HttpError, type ErrorDetail, type ErrorParams } from '../errors.js';

interface PgError { code?: string; detail?: string; constraint?: string; table?: string; column?: string; message: string }

export const STATUS_NAMES: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 429: 'too_many_requests' };

/** Codes this handler gives itself: schema refusals, database constraints, the failures without a code. */
export const HANDLER_CODES = ['validation', 'internal', 'duplicate', 'in_use', 'unknown_reference', 'invalid', 'conflict', 'not_found', ...Object.values(STATUS_NAMES)] as const;
/** The codes of a schema refusal's details: zod's issue codes, too small / too big told apart (validationCode). */
export const VALIDATION_CODES = [
  'invalid_type', 'too_short', 'too_few', 'too_small', 'too_long', 'too_many', 'too_big', 'invalid_format', 'invalid_value', 'unrecognized_keys',
  'not_multiple_of', 'invalid_union', 'invalid_key', 'invalid_element', 'custom',
] as const;

/**
 * A schema refusal's code for people: zod's issue code, with "too small/big" told apart by what was
 * measured (a text is too short, a list has too few items, a number is too small).
 */
export function validationCode(keyword: string, origin: unknown): string {
  if (keyword === 'too_small') return origin === 'string' ? 'too_short' : origin === 'array' || origin === 'set' ? 'too_few' : 'too_small';
  if (keyword === 'too_big') return origin === 'string' ? 'too_long' : origin === 'array' || origin === 'set' ? 'too_many' : 'too_big';
  return keyword;
}

/** The values of a zod issue a text can use: scalars as they are, lists joined ("a, b"). */
function validationParams(p: Record<string, unknown> | undefined): ErrorParams {
  const out: ErrorParams = {};
  for (const k of ['expected', 'minimum', 'maximum', 'format', 'inclusive', 'divisor', 'values', 'keys']) {
    const v = p?.[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'bigint') out[k] = Number(v);
    else if (Array.isArray(v)) out[k] = v.map(String).join(', ');
  }
  return out;
}

function fromPg(err: PgError): HttpError | null {
  switch (err.code) {
    case '23505': // unique_violation
      return new HttpError(409, 'duplicate', `already exists: ${err.detail ?? err.message}`, [{ path: err.constraint, message: err.detail ?? err.message }]);
    case '23503': // foreign_key_violation
      return /still referenced/.test(err.detail ?? '')
        ? new HttpError(409, 'in_use', `still referenced: ${err.detail}`)
        : new HttpError(400, 'unknown_reference', `refers to something that does not exist: ${err.detail ?? err.message}`);
    case '23514': // check_violation
    case '23502': // not_null_violation
    case '22P02': // invalid_text_representation
    case '22007': // invalid_datetime_format
    case '22008': // datetime_field_overflow
    case '22003': // numeric_value_out_of_range
      return new HttpError(400, 'invalid', err.message, err.column ? [{ path: err.column, message: err.message }] : undefined);
    case '23P01': // exclusion_violation
      return new HttpError(409, 'conflict', err.detail ?? err.message);
    default:
      return null;
  }
}

export default fp(async function errorsPlugin(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError & PgError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details: ErrorDetail[] = err.validation.map((v) => {
        const path = [err.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.');
        const params = v.params as Record<string, unknown> | undefined;
        return { path, message: v.message ?? 'invalid', code: validationCode(v.keyword, params?.origin), params: validationParams(params) };
      });
      return reply.code(400).send({ statusCode: 400, error: 'validation', code: 'validation', message: details.map((d) => `${d.path}: ${d.message}`).join('; '), details });
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, issues: err.cause.issues }, 'response does not match its schema');
      return reply.code(500).send({ statusCode: 500, error: 'internal', code: 'internal', message: 'response does not match its schema' });
    }
    const http = err instanceof HttpError ? err : fromPg(err);
    if (http) {
      return reply.code(http.statusCode).send({
        statusCode: http.statusCode, error: http.code, code: http.code, message: http.message,
        ...(http.params ? { params: http.params } : {}), ...(http.details ? { details: http.details } : {}),
      });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'unhandled error');
      return reply.code(500).send({ statusCode: 500, error: 'internal', code: 'internal', message: 'internal error' });
    }
    const code = STATUS_NAMES[status] ?? err.code ?? 'error';
    return reply.code(status).send({ statusCode: status, error: code, code, message: err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ statusCode: 404, error: 'not_found', code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}, { name: 'amr-errors' });
