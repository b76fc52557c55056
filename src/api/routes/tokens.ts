import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { insertToken } from '../../db/api-tokens.js';
import { audit } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import { newSecret } from '../../security/secret-hash.js';
import { principalOf, requireRole } from '../auth.js';
import { unprocessable } from '../errors.js';
import { ErrorResponse, TokenInput, TokenResponse } from '../schemas.js';

export const tokenRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.post(
    '/v1/tokens',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['access'],
        summary: 'Issue a bearer token; it is shown once and stored only as a hash',
        security: [{ bearer: [] }],
        body: TokenInput,
        response: { 201: TokenResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const { subject, role } = request.body;
      const token = newSecret();
      await sql.begin(async (tx) => {
        if (role === 'handler') {
          const [h] = await tx`select 1 from handlers where id = ${subject}`;
          if (!h) throw unprocessable('UNKNOWN_HANDLER', `no handler "${subject}" to issue a token for`);
        }
        await insertToken(tx, token, { subject, role }, actor.subject);
        await audit(tx, {
          actorId: actor.subject,
          action: 'token.issued',
          entityType: 'token',
          entityId: subject,
          after: { subject, role },
        });
      });
      return reply.code(201).send({ token, subject, role });
    },
  );
};
