import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { insertToken, listTokens, revokeToken, type TokenRecord } from '../../db/api-tokens.js';
import { audit } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import { newSecret } from '../../security/secret-hash.js';
import { principalOf, requireRole } from '../auth.js';
import { badRequest, notFound, unprocessable } from '../errors.js';
import { iso } from '../presenters.js';
import { ErrorResponse, Id, TokenInput, TokenList, TokenResponse, TokenView } from '../schemas.js';

/** Never the secret: only its owner saw it, once. */
function present(t: TokenRecord) {
  return {
    id: t.id,
    subject: t.subject,
    role: t.role,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
  };
}

const secured = [{ bearer: [] }];

export const tokenRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.post(
    '/v1/tokens',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['access'],
        summary: 'Issue a bearer token; it is shown once and stored only as a hash',
        security: secured,
        body: TokenInput,
        response: { 201: TokenResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const { subject, role, expiresAt } = request.body;
      const expires = expiresAt ? new Date(expiresAt) : null;
      if (expires && expires.getTime() <= Date.now()) {
        throw badRequest('EXPIRY_IN_PAST', 'expiresAt must be in the future', [{ field: 'body.expiresAt' }]);
      }
      const token = newSecret();
      const record = await sql.begin(async (tx) => {
        if (role === 'handler') {
          const [h] = await tx`select 1 from handlers where id = ${subject}`;
          if (!h) throw unprocessable('UNKNOWN_HANDLER', `no handler "${subject}" to issue a token for`);
        }
        const created = present((await insertToken(tx, token, { subject, role }, actor.subject, expires))!);
        await audit(tx, {
          actorId: actor.subject,
          action: 'token.issued',
          entityType: 'token',
          entityId: created.id,
          after: created,
        });
        return created;
      });
      return reply.code(201).send({ ...record, token });
    },
  );

  app.get(
    '/v1/tokens',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['access'],
        summary: 'Tokens issued, newest first, without their secrets',
        security: secured,
        querystring: Type.Object({ subject: Type.Optional(Id) }, { additionalProperties: false }),
        response: { 200: TokenList, '4xx': ErrorResponse },
      },
    },
    async (request) => ({ items: (await listTokens(sql, request.query.subject)).map(present) }),
  );

  app.delete(
    '/v1/tokens/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['access'],
        summary: 'Revoke a token at once; revocation is final',
        security: secured,
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: TokenView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      return sql.begin(async (tx) => {
        const before = await revokeToken(tx, request.params.id);
        if (!before) throw notFound('TOKEN_NOT_FOUND', `no token ${request.params.id}`);
        const after = present((await listTokens(tx, before.subject)).find((t) => t.id === before.id)!);
        if (!before.revokedAt) {
          await audit(tx, {
            actorId: actor.subject,
            action: 'token.revoked',
            entityType: 'token',
            entityId: before.id,
            before: present(before),
            after,
          });
        }
        return after;
      });
    },
  );
};
