import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../db/api-tokens.js';
import type { Sql } from '../../db/client.js';
import { findSourceSystem, type SourceSystem } from '../../db/source-systems.js';
import { principalOf } from '../auth.js';
import { ApiError, forbidden, notFound } from '../errors.js';
import { ErrorResponse } from '../schemas.js';
import type { SourceIngestion, WriteOutcome } from '../source-ingestion.js';
import type { SourceRateLimit } from '../source-rate-limit.js';
import {
  BulkBody,
  BulkResult,
  CancelQuery,
  MAX_BULK_ITEMS,
  ReconcileBody,
  ReconcileResult,
  SourceMatterBody,
  SourceMatterParams,
  SourceParams,
  StaleList,
  StaleQuery,
  WriteOutcome as WriteOutcomeSchema,
} from '../source-schemas.js';

/** A thousand items with their details, or a hundred thousand ids: bounded, and only on these routes. */
const LARGE_BODY_LIMIT = 16 * 1024 * 1024;

const READERS: Role[] = ['admin', 'manager', 'reviewer', 'auditor'];
const secured = [{ bearer: [] }];
const sourceOf = (request: FastifyRequest) => (request.params as { source: string }).source;

/**
 * A source writes only its own matters, and so does an admin on its behalf. Staff who already
 * read every matter may also read a source's stale updates and reconcile its list.
 */
function authorize(access: 'write' | 'read') {
  return async (request: FastifyRequest) => {
    const p = principalOf(request);
    const code = sourceOf(request);
    if (p.role === 'source') {
      if (p.subject !== code)
        throw forbidden(`a source system may use only its own routes (source "${p.subject}")`);
      return;
    }
    const roles: Role[] = access === 'write' ? ['admin'] : READERS;
    if (!roles.includes(p.role)) {
      throw forbidden(`this needs the source "${code}" itself or the role ${roles.join(' or ')}`);
    }
  };
}

const STATUS_CODE: Record<WriteOutcome['status'], 200 | 201 | 202> = {
  created: 201,
  unchanged: 200,
  modified: 200,
  cancelled: 200,
  pending_review: 202,
};

export const sourceMatterRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  ingestion: SourceIngestion;
  /** The source's registered requests per minute, across its ingestion routes and POST /v1/matters. */
  limited: SourceRateLimit;
}> = async (app, { sql, ingestion, limited }) => {
  /** Fresh from the registry: a source's trust, once withdrawn, is withdrawn at once. */
  async function registered(code: string, access: 'write' | 'read'): Promise<SourceSystem> {
    const src = await findSourceSystem(sql, code);
    if (!src) throw notFound('SOURCE_NOT_FOUND', `no source system "${code}" is registered`);
    if (access === 'write' && !src.active) {
      throw new ApiError(403, 'SOURCE_INACTIVE', `source system "${code}" is inactive`);
    }
    return src;
  }

  const writeHooks = { onRequest: [authorize('write'), limited] };

  app.put(
    '/v1/sources/:source/matters/:externalId',
    {
      ...writeHooks,
      schema: {
        tags: ['sources'],
        summary:
          'Push a version of a matter: creates it, or changes what the source changed since its last version; an older version is dropped (409 STALE_VERSION)',
        security: secured,
        params: SourceMatterParams,
        body: SourceMatterBody,
        response: {
          200: WriteOutcomeSchema,
          201: WriteOutcomeSchema,
          202: WriteOutcomeSchema,
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { source, externalId } = request.params;
      const src = await registered(source, 'write');
      const out = await ingestion.upsert(src, externalId, request.body, principalOf(request).subject);
      if (out.matterId) reply.header('location', `/v1/matters/${out.matterId}`);
      else if (out.changeRequestId) reply.header('location', `/v1/change-requests/${out.changeRequestId}`);
      return reply.code(STATUS_CODE[out.status]).send(out);
    },
  );

  app.delete(
    '/v1/sources/:source/matters/:externalId',
    {
      ...writeHooks,
      schema: {
        tags: ['sources'],
        summary:
          'Cancel a matter at its source’s request, with a higher version (reviewed unless the source is trusted)',
        security: secured,
        params: SourceMatterParams,
        querystring: CancelQuery,
        response: { 200: WriteOutcomeSchema, 202: WriteOutcomeSchema, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { source, externalId } = request.params;
      const src = await registered(source, 'write');
      const { version, reason } = request.query;
      const out = await ingestion.cancel(src, externalId, version, reason, principalOf(request).subject);
      return reply.code(STATUS_CODE[out.status]).send(out);
    },
  );

  app.post(
    '/v1/sources/:source/matters/bulk',
    {
      ...writeHooks,
      bodyLimit: LARGE_BODY_LIMIT,
      preValidation: async (request) => {
        const items = (request.body as { items?: unknown } | null)?.items;
        if (Array.isArray(items) && items.length > MAX_BULK_ITEMS) {
          throw new ApiError(
            413,
            'BULK_TOO_LARGE',
            `a bulk push takes at most ${MAX_BULK_ITEMS} items; this one has ${items.length}`,
            [{ field: 'body.items' }],
          );
        }
      },
      schema: {
        tags: ['sources'],
        summary: `Push up to ${MAX_BULK_ITEMS} matters, each judged like the PUT on its own, with a result per item`,
        security: secured,
        params: SourceParams,
        body: BulkBody,
        response: { 200: BulkResult, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const src = await registered(request.params.source, 'write');
      return ingestion.bulk(src, request.body.items, principalOf(request).subject);
    },
  );

  app.post(
    '/v1/sources/:source/reconcile',
    {
      onRequest: [authorize('read'), limited],
      bodyLimit: LARGE_BODY_LIMIT,
      schema: {
        tags: ['sources'],
        summary: 'Compare the source’s list of open matters with matterflow’s: exactly what differs',
        security: secured,
        params: SourceParams,
        body: ReconcileBody,
        response: { 200: ReconcileResult, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const src = await registered(request.params.source, 'read');
      const r = await ingestion.reconcile(src, request.body.openExternalIds);
      return {
        ...r,
        closedHere: r.closedHere.map((c) => ({ ...c, completedAt: c.completedAt?.toISOString() ?? null })),
      };
    },
  );

  app.get(
    '/v1/sources/:source/stale-updates',
    {
      onRequest: authorize('read'),
      schema: {
        tags: ['sources'],
        summary: 'Writes dropped because a newer version was already held, oldest first',
        security: secured,
        params: SourceParams,
        querystring: StaleQuery,
        response: { 200: StaleList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const src = await registered(request.params.source, 'read');
      const { limit, after } = request.query;
      const rows = await ingestion.staleUpdates(src, {
        limit: limit + 1,
        ...(after !== undefined ? { after } : {}),
      });
      const page = rows.slice(0, limit);
      return {
        items: page.map((r) => ({ ...r, receivedAt: r.receivedAt.toISOString() })),
        nextAfter: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      };
    },
  );
};
