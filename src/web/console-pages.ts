import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';
import type { Role } from '../db/api-tokens.js';
import { addError, type FieldErrors } from './console-matter-form.js';

/** Who opens the console at all; each page narrows it to who may act there. */
export const CONSOLE_ROLES: readonly Role[] = ['manager', 'reviewer', 'admin'];
/** Who proposes changes to matters and adds to the directory, as the API allows. */
export const MAKERS: readonly Role[] = ['manager', 'admin'];
/** Who decides change requests, as the API allows. */
export const REVIEWERS: readonly Role[] = ['reviewer', 'admin'];

export const web = (summary: string) => ({ tags: ['web'], summary });

export const may = (request: FastifyRequest, roles: readonly Role[]) => roles.includes(request.webUser!.role);

/** The console's own 403 page, in the reader's language. */
export const refused = (reply: FastifyReply) =>
  reply.page('error', { key: 'console.forbidden', message: null, detail: null }, { status: 403 });

/**
 * A service's refusal as form errors: next to the control its details name, else where `fieldOf('')`
 * says, in the service's own words. Anything that is not a refusal of the request goes on to the error page.
 */
export function refusalErrors(
  err: unknown,
  fieldOf: (path: string) => string,
): { status: number; errors: FieldErrors } {
  if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
  const errors: FieldErrors = {};
  const fields = Array.isArray(err.details)
    ? (err.details as { field?: unknown }[]).flatMap((d) =>
        typeof d.field === 'string' ? [fieldOf(d.field)] : [],
      )
    : [];
  for (const field of new Set(fields.length > 0 ? fields : [fieldOf('')]))
    addError(errors, field, { text: err.message });
  return { status: err.statusCode, errors };
}

export const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that cannot name a record is no such page, not a database error. */
export function checkUuid(id: string, what: string): string {
  if (!UUID.test(id)) throw new ApiError(404, 'NOT_FOUND', `no ${what} ${id}`);
  return id;
}
