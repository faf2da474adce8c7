/**
 * The one error type routes throw; the error-handler plugin turns it into
 * `{ statusCode, error, code, message, params?, details? }`. `details` names fields (path) or rows where
 * that helps. `code` and `params` are for the pages: they say the refusal in the user's language from
 * the code and the values (web-shared/errors.js), while `message` stays the English sentence for logs
 * and scripts. A message or text meant for people names a meter by its serial, never by an internal id.
 */
export type ErrorParams = Record<string, string | number | boolean | null>;
export interface ErrorDetail { path?: string; row?: number; column?: string; message: string; code?: string; params?: ErrorParams }

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    /** The values a page needs to say the error in its own words (top-level `params`). */
    readonly params?: ErrorParams,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, details?: ErrorDetail[]) => new HttpError(409, 'conflict', message, details);
export const badRequest = (message: string, details?: ErrorDetail[]) => new HttpError(400, 'bad_request', message, details);
