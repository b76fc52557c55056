import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Sql } from '../../db/client.js';
import { type FilingRecord, listFilingRecords } from '../../db/exception-filings.js';
import { FILING_STATUSES, ON_FILING } from '../../domain/exception-type.js';
import { principalOf, requireRole } from '../auth.js';
import { notFound } from '../errors.js';
import type { FilingService } from '../filing-service.js';
import { iso } from '../presenters.js';
import { Attachment, CatalogCode, DateTime, ErrorResponse, literals, Nullable, Text } from '../schemas.js';

const FilingView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  matterId: Type.String({ format: 'uuid' }),
  seq: Type.Integer({ description: 'the seq of its `exception.filed` event on the matter' }),
  eventType: Type.String(),
  typeVersion: Nullable(Type.Integer()),
  severity: Nullable(Type.String()),
  onFiling: literals(ON_FILING),
  description: Type.String(),
  fields: Type.Record(Type.String(), Type.Unknown()),
  attachments: Type.Array(Attachment),
  filedBy: Type.String(),
  filedAt: DateTime,
  status: literals(FILING_STATUSES),
  acknowledgedBy: Nullable(Type.String()),
  acknowledgedAt: Nullable(DateTime),
  acknowledgedNote: Nullable(Type.String()),
  closedBy: Nullable(Type.String()),
  closedAt: Nullable(DateTime),
  closedNote: Nullable(Type.String()),
});

const FilingQuery = Type.Object(
  {
    status: Type.Optional(literals(FILING_STATUSES)),
    type: Type.Optional(CatalogCode),
    matterId: Type.Optional(Type.String({ format: 'uuid' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  },
  { additionalProperties: false },
);
const FilingParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const AcknowledgeBody = Type.Object({ note: Type.Optional(Text(4000)) }, { additionalProperties: false });
const CloseBody = Type.Object({ note: Text(4000, 'how it was settled') }, { additionalProperties: false });

const present = (f: FilingRecord) => ({
  ...f,
  filedAt: f.filedAt.toISOString(),
  acknowledgedAt: iso(f.acknowledgedAt),
  closedAt: iso(f.closedAt),
});

const secured = [{ bearer: [] }];

/** The exception board: filings by status, type and matter, and their subscribers acknowledging and closing them. */
export const exceptionFilingRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  filings: FilingService;
}> = async (app, { sql, filings }) => {
  app.get(
    '/v1/exception-filings',
    {
      preHandler: requireRole('admin', 'manager', 'reviewer', 'auditor', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary: 'The exception board: open filings first, then acknowledged, then closed; newest first',
        security: secured,
        querystring: FilingQuery,
        response: { 200: Type.Object({ items: Type.Array(FilingView) }), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { limit, ...filter } = request.query;
      const subscriber = p.role === 'handler' ? { subscriber: p.subject } : {};
      const rows = await listFilingRecords(sql, { ...filter, ...subscriber }, limit);
      return { items: rows.map(present) };
    },
  );

  app.get(
    '/v1/exception-filings/:id',
    {
      preHandler: requireRole('admin', 'manager', 'reviewer', 'auditor', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary: 'An exception filing with who acknowledged and closed it',
        security: secured,
        params: FilingParams,
        response: { 200: FilingView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const filing = await filings.load(request.params.id);
      if (!(await filings.mayRead(principalOf(request), filing))) {
        throw notFound('FILING_NOT_FOUND', `no exception filing ${request.params.id}`);
      }
      return present(filing);
    },
  );

  app.post(
    '/v1/exception-filings/:id/acknowledge',
    {
      preHandler: requireRole('admin', 'manager', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary: 'Take up a filing (a subscriber of its type, or a manager)',
        security: secured,
        params: FilingParams,
        body: AcknowledgeBody,
        response: { 200: FilingView, '4xx': ErrorResponse },
      },
    },
    async (request) =>
      present(await filings.take(principalOf(request), request.params.id, 'acknowledged', request.body.note)),
  );

  app.post(
    '/v1/exception-filings/:id/close',
    {
      preHandler: requireRole('admin', 'manager', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary:
          'Settle a filing with a note (a subscriber of its type, or a manager); reminders it paused resume',
        security: secured,
        params: FilingParams,
        body: CloseBody,
        response: { 200: FilingView, '4xx': ErrorResponse },
      },
    },
    async (request) =>
      present(await filings.take(principalOf(request), request.params.id, 'closed', request.body.note)),
  );
};
