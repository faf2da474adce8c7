/**
 * The one error type routes throw; the error-handler plugin turns it into
 * `{ statusCode, error, message, details? }`. `details` names fields (path) or rows where that helps.
 */
export interface ErrorDetail { path?: string; row?: number; column?: string; message: string }

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, details?: ErrorDetail[]) => new HttpError(409, 'conflict', message, details);
export const badRequest = (message: string, details?: ErrorDetail[]) => new HttpError(400, 'bad_request', message, details);
