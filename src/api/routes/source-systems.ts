import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { audit } from '../../db/audit.js';
import { type CallbackRow, findCallback, listCallbacks, requeueCallback } from '../../db/callback-outbox.js';
import type { Sql } from '../../db/client.js';
import {
  addSourceSystemVersion,
  callbackSecretContext,
  findSourceSystem,
  latestSealedCallbackSecret,
  listSourceSystems,
} from '../../db/source-systems.js';
import type { OutboundPolicy } from '../../security/outbound-address.js';
import type { SecretBox } from '../../security/secret-box.js';
import { newSecret } from '../../security/secret-hash.js';
import { principalOf, requireRole } from '../auth.js';
import {
  CallbackList,
  CallbackListParams,
  CallbackListQuery,
  CallbackParams,
  CallbackView,
} from '../callback-schemas.js';
import { catalogReads, saveVersion } from '../catalog-routes.js';
import { SourceSystemInput, SourceSystemSaved, SourceSystemVersions } from '../catalog-schemas.js';
import { conflict, notFound } from '../errors.js';
import { checkOutboundUrl } from '../outbound.js';
import { ErrorResponse } from '../schemas.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function presentCallback(c: CallbackRow) {
  return {
    ...c,
    createdAt: iso(c.createdAt)!,
    // Meaningless once the callback is settled.
    nextAttemptAt: c.status === 'pending' ? iso(c.nextAttemptAt) : null,
    deliveredAt: iso(c.deliveredAt),
    failedAt: iso(c.failedAt),
    attemptLog: c.attemptLog.map((a) => ({ ...a, startedAt: iso(a.startedAt)! })),
  };
}

/** The catalog of the application systems that push matters: each save is a new version. */
export const sourceSystemRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  secrets: SecretBox;
  outbound: OutboundPolicy;
}> = async (app, { sql, secrets, outbound }) => {
  app.post(
    '/v1/source-systems',
    {
      // Trust lets a source's matters skip review, so only an admin may grant it.
      preHandler: requireRole('admin'),
      schema: {
        tags: ['catalogs'],
        summary: 'Save a source system as its next version',
        description:
          'The callback secret is write-only. Without one, the previous version’s is kept; a source with a callback URL and no secret yet gets a generated one, shown in this response only.',
        security: [{ bearer: [] }],
        body: SourceSystemInput,
        response: { 201: SourceSystemSaved, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const body = request.body;
      if (body.callbackUrl) checkOutboundUrl(outbound, body.callbackUrl, 'body.callbackUrl');
      let generated: string | undefined;
      const saved = await saveVersion(sql, actor.subject, 'source_system', async (tx) => {
        const context = callbackSecretContext(body.code);
        let sealed = body.callbackSecret === undefined ? null : secrets.seal(body.callbackSecret, context);
        sealed ??= await latestSealedCallbackSecret(tx, body.code);
        if (!sealed && body.callbackUrl) {
          generated = newSecret(32);
          sealed = secrets.seal(generated, context);
        }
        const row = await addSourceSystemVersion(tx, {
          code: body.code,
          name: body.name,
          trusted: body.trusted ?? false,
          callbackUrl: body.callbackUrl ?? null,
          rateLimitPerMinute: body.rateLimitPerMinute ?? null,
          active: body.active ?? true,
          description: body.description ?? null,
          createdBy: actor.subject,
          sealedCallbackSecret: sealed,
        });
        if (body.callbackSecret !== undefined || generated) {
          // The version's row says only that there is a secret; this says when it was set or rotated.
          await audit(tx, {
            actorId: actor.subject,
            action: 'source_system.callback_secret_set',
            entityType: 'source_system',
            entityId: `${row.code}@${row.version}`,
            data: { how: generated ? 'generated' : 'given' },
          });
        }
        return row;
      });
      return reply.code(201).send(generated ? { ...saved, callbackSecret: generated } : saved);
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

  app.get(
    '/v1/source-systems/:code/callbacks',
    {
      preHandler: requireRole('admin', 'manager', 'auditor'),
      schema: {
        tags: ['catalogs'],
        summary: 'Callbacks to one source system, newest first, with every delivery attempt',
        security: [{ bearer: [] }],
        params: CallbackListParams,
        querystring: CallbackListQuery,
        response: { 200: CallbackList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { code } = request.params;
      if (!(await findSourceSystem(sql, code))) {
        throw notFound('SOURCE_SYSTEM_NOT_FOUND', `no source system ${code}`);
      }
      const { status, limit } = request.query;
      const rows = await listCallbacks(sql, code, { limit, ...(status ? { status } : {}) });
      return { items: rows.map(presentCallback) };
    },
  );

  app.post(
    '/v1/source-systems/:code/callbacks/:id/retry',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['catalogs'],
        summary: 'Send a failed callback again, with a fresh retry budget',
        security: [{ bearer: [] }],
        params: CallbackParams,
        response: { 200: CallbackView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { code, id } = request.params;
      const result = await requeueCallback(sql, code, id, principalOf(request).subject);
      if (result.ok) return presentCallback(result.row);
      if (result.reason === 'NOT_FOUND') throw notFound('CALLBACK_NOT_FOUND', `no callback ${id} to ${code}`);
      const current = await findCallback(sql, code, id);
      throw conflict(
        'CALLBACK_NOT_FAILED',
        `callback ${id} is ${current?.status}; only a failed one is retried`,
      );
    },
  );
};
