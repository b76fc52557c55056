import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listAudit, verifyAuditChain } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import { requireRole } from '../auth.js';
import { AuditList, AuditQuery, AuditVerification, ErrorResponse } from '../schemas.js';

export const auditRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.get(
    '/v1/audit',
    {
      preHandler: requireRole('admin', 'auditor'),
      schema: {
        tags: ['audit'],
        summary: 'The audit trail in chain order: who did what to which entity, before and after',
        security: [{ bearer: [] }],
        querystring: AuditQuery,
        response: { 200: AuditList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { limit, after, ...filter } = request.query;
      const rows = await listAudit(sql, filter, { limit: limit + 1, afterSeq: after });
      const items = rows.slice(0, limit);
      return {
        items: items.map((r) => ({ ...r, at: r.at.toISOString() })),
        nextAfter: rows.length > limit ? (items.at(-1)?.chainSeq ?? null) : null,
      };
    },
  );

  app.get(
    '/v1/audit/verify',
    {
      preHandler: requireRole('admin', 'auditor'),
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain; names the first row that was altered or removed',
        security: [{ bearer: [] }],
        response: { 200: AuditVerification, '4xx': ErrorResponse },
      },
    },
    async () => verifyAuditChain(sql),
  );
};
