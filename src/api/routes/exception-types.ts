import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Sql } from '../../db/client.js';
import { addExceptionTypeVersion, listExceptionTypes, unknownSubscribers } from '../../db/exception-types.js';
import { checkFieldsSchema, FieldsSchemaError } from '../../domain/exception-type.js';
import type { OutboundPolicy } from '../../security/outbound-address.js';
import { principalOf, requireRole } from '../auth.js';
import { catalogReads, saveVersion } from '../catalog-routes.js';
import { ExceptionTypeInput, ExceptionTypeVersions, ExceptionTypeView } from '../catalog-schemas.js';
import { badRequest, unprocessable } from '../errors.js';
import { checkOutboundUrl } from '../outbound.js';
import { ErrorResponse } from '../schemas.js';

function checkSchema(schema: Record<string, unknown>): void {
  try {
    checkFieldsSchema(schema);
  } catch (err) {
    if (err instanceof FieldsSchemaError) {
      throw badRequest(err.code, err.message, [{ field: 'body.fieldsSchema' }]);
    }
    throw err;
  }
}

/** The catalog of exception event types: each save is a new version; a filing names the type it is. */
export const exceptionTypeRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; outbound: OutboundPolicy }> = async (
  app,
  { sql, outbound },
) => {
  app.post(
    '/v1/exception-types',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['catalogs'],
        summary: 'Save an exception event type as its next version',
        security: [{ bearer: [] }],
        body: ExceptionTypeInput,
        response: { 201: ExceptionTypeView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const { subscribers = [], active = true, description, onFiling = 'leave_open', ...type } = request.body;
      checkSchema(type.fieldsSchema);
      subscribers.forEach((s, i) => {
        if (s.kind === 'webhook') checkOutboundUrl(outbound, s.url, `body.subscribers.${i}.url`);
      });
      const saved = await saveVersion(sql, actor.subject, 'exception_type', async (tx) => {
        const unknown = await unknownSubscribers(tx, subscribers);
        if (unknown.length > 0) {
          const named = unknown.map((s) => `${s.kind} "${'id' in s ? s.id : s.url}"`).join(', ');
          throw unprocessable('UNKNOWN_SUBSCRIBER', `no such subscriber: ${named}`);
        }
        return addExceptionTypeVersion(tx, {
          ...type,
          subscribers,
          onFiling,
          active,
          description: description ?? null,
          createdBy: actor.subject,
        });
      });
      return reply.code(201).send(saved);
    },
  );

  catalogReads(app, sql, {
    path: '/v1/exception-types',
    noun: 'exception event type',
    notFoundCode: 'EXCEPTION_TYPE_NOT_FOUND',
    roles: [],
    codeMaxLength: 64,
    versions: ExceptionTypeVersions,
    list: listExceptionTypes,
  });
};
