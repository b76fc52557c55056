import type { FastifyError, FastifyInstance } from 'fastify';
import { databaseUnavailable } from '../db/client.js';

/** Every refusal the API gives: a stable code, a message for people, and its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new ApiError(400, code, message, details);
export const forbidden = (message: string) => new ApiError(403, 'FORBIDDEN', message);
export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
export const unprocessable = (code: string, message: string) => new ApiError(422, code, message);
export const unavailable = (code: string, message: string) => new ApiError(503, code, message);

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** What a 503 for an unreachable database tells the caller to wait before asking again. */
const DATABASE_RETRY_AFTER_S = 5;

const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'INVALID_CONTENT_LENGTH' },
};

/** One place turns failures into `{ error: { code, message } }`; 5xx details stay in the log. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message, err.details));
    }
    if (err.validation) {
      const details = err.validation.map((v) => ({
        field: `${err.validationContext ?? ''}${v.instancePath}`.replace(/\//g, '.') || err.validationContext,
        problem: v.message,
        ...(v.params && 'additionalProperty' in v.params ? { property: v.params.additionalProperty } : {}),
      }));
      return reply.code(400).send(errorBody('VALIDATION_FAILED', `invalid request: ${err.message}`, details));
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return reply.code(known.status).send(errorBody(known.code, err.message));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody(err.code ?? 'BAD_REQUEST', err.message));
    }
    if (databaseUnavailable(err)) {
      // Not the caller's fault, nor a bug: the same request succeeds once the database is back.
      request.log.warn({ error: err.message }, 'database unavailable');
      return reply
        .code(503)
        .header('retry-after', String(DATABASE_RETRY_AFTER_S))
        .send(errorBody('DATABASE_UNAVAILABLE', 'the database is unavailable; try again shortly'));
    }
    request.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send(errorBody('INTERNAL', 'something went wrong on our side; it has been logged'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
