import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Sql } from '../../db/client.js';
import { addSourceSystemVersion, listSourceSystems } from '../../db/source-systems.js';
import { principalOf, requireRole } from '../auth.js';
import { catalogReads, saveVersion } from '../catalog-routes.js';
import { SourceSystemInput, SourceSystemVersions, SourceSystemView } from '../catalog-schemas.js';
import { ErrorResponse } from '../schemas.js';

/** The catalog of the application systems that push matters: each save is a new version. */
export const sourceSystemRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.post(
    '/v1/source-systems',
    {
      // Trust lets a source's matters skip review, so only an admin may grant it.
      preHandler: requireRole('admin'),
      schema: {
        tags: ['catalogs'],
        summary: 'Save a source system as its next version',
        security: [{ bearer: [] }],
        body: SourceSystemInput,
        response: { 201: SourceSystemView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const body = request.body;
      const saved = await saveVersion(sql, actor.subject, 'source_system', (tx) =>
        addSourceSystemVersion(tx, {
          code: body.code,
          name: body.name,
          trusted: body.trusted ?? false,
          callbackUrl: body.callbackUrl ?? null,
          rateLimitPerMinute: body.rateLimitPerMinute ?? null,
          active: body.active ?? true,
          description: body.description ?? null,
          createdBy: actor.subject,
        }),
      );
      return reply.code(201).send(saved);
    },
  );

  catalogReads(app, sql, {
    path: '/v1/source-systems',
    noun: 'source system',
    notFoundCode: 'SOURCE_SYSTEM_NOT_FOUND',
    // Not sources: how other sources are trusted is none of their business.
    roles: ['admin', 'manager', 'reviewer', 'auditor'],
    codeMaxLength: 128,
    versions: SourceSystemVersions,
    list: listSourceSystems,
  });
};
