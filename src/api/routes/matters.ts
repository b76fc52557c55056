import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Principal } from '../../db/api-tokens.js';
import { listChangeRequests } from '../../db/change-requests.js';
import type { Sql } from '../../db/client.js';
import { listEvents, listFilings } from '../../db/events.js';
import { listMatters, type MatterRow, wasHandledBy } from '../../db/matters.js';
import { listNotifications } from '../../db/notifications.js';
import { principalOf, requireRole } from '../auth.js';
import type { ChangeService } from '../change-service.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { MatterService } from '../matter-service.js';
import { iso, presentChangeRequest } from '../presenters.js';
import {
  ActionResponse,
  ChangeRequestView,
  CompleteBody,
  CreatedMatter,
  ErrorResponse,
  ExceptionBody,
  MatterDetail,
  MatterIdParams,
  MatterInputBody,
  MatterList,
  MatterListQuery,
  PendingReview,
  TransferBody,
} from '../schemas.js';

/** Staff also see the matter's change requests, pending ones with their diffs. */
const MatterView = Type.Composite([
  MatterDetail,
  Type.Object({ changeRequests: Type.Optional(Type.Array(ChangeRequestView)) }),
]);

export function presentMatter(row: MatterRow) {
  return {
    id: row.id,
    workflowId: row.workflowId,
    source: row.source,
    externalId: row.externalId,
    title: row.title,
    details: row.details,
    link: row.link,
    dueAt: iso(row.dueAt),
    priority: row.priority,
    reminderRule: row.reminderRule,
    reminderRuleRef: row.reminderRuleRef,
    handlerId: row.handlerId,
    status: row.status,
    assignedAt: row.assignedAt.toISOString(),
    remindersSent: row.remindersSent,
    escalated: row.escalated,
    transferCount: row.transferCount,
    exceptionCount: row.exceptionCount,
    nextNoticeAt: iso(row.nextNoticeAt),
    completedAt: iso(row.completedAt),
    completedBy: row.completedBy,
    outcome: row.outcome,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function encodeCursor(row: MatterRow): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt))) {
      return { createdAt, id };
    }
  } catch {}
  throw badRequest('INVALID_CURSOR', 'cursor is not one this API returned', [
    { field: 'querystring.cursor' },
  ]);
}

async function mayRead(sql: Sql, p: Principal, row: MatterRow): Promise<boolean> {
  if (p.role === 'admin' || p.role === 'manager' || p.role === 'reviewer' || p.role === 'auditor')
    return true;
  if (p.role === 'source') return row.source === p.subject;
  return wasHandledBy(sql, row.id, p.subject);
}

const secured = [{ bearer: [] }];
const actionSchema = <B>(summary: string, body: B) => ({
  tags: ['actions'],
  summary,
  security: secured,
  params: MatterIdParams,
  body,
  response: { 200: ActionResponse, '4xx': ErrorResponse },
});

export const matterRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  matters: MatterService;
  changes: ChangeService;
}> = async (app, { sql, matters, changes }) => {
  app.post(
    '/v1/matters',
    {
      preHandler: requireRole('source', 'manager', 'admin'),
      schema: {
        tags: ['matters'],
        summary:
          'Push a matter; idempotent on (source, externalId). A manager’s matter waits for review: 202 with its change request',
        security: secured,
        body: MatterInputBody,
        response: { 200: CreatedMatter, 201: CreatedMatter, 202: PendingReview, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      if (p.role === 'source' && request.body.source !== p.subject) {
        throw forbidden(`a source system may push only its own matters (source "${p.subject}")`);
      }
      if (p.role === 'manager') {
        const cr = await changes.propose(
          { kind: 'add', matter: request.body, reason: 'pushed through POST /v1/matters' },
          p.subject,
        );
        reply.header('location', `/v1/change-requests/${cr.id}`);
        return reply.code(202).send({ changeRequestId: cr.id, status: 'pending' });
      }
      const result = await matters.create(request.body, p.subject);
      reply.header('location', `/v1/matters/${result.id}`);
      return reply
        .code(result.created ? 201 : 200)
        .send({ id: result.id, workflowId: result.workflowId, status: result.status });
    },
  );

  app.get(
    '/v1/matters',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['matters'],
        summary: 'List matters, newest first',
        security: secured,
        querystring: MatterListQuery,
        response: { 200: MatterList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const q = request.query;
      const filter = { handlerId: q.handlerId, status: q.status, source: q.source, dueBefore: q.dueBefore };
      if (p.role === 'handler') {
        if (q.handlerId !== undefined && q.handlerId !== p.subject) {
          throw forbidden('a handler may list only their own matters');
        }
        filter.handlerId = p.subject;
      }
      if (p.role === 'source') {
        if (q.source !== undefined && q.source !== p.subject) {
          throw forbidden('a source system may list only its own matters');
        }
        filter.source = p.subject;
      }
      const rows = await listMatters(sql, filter, {
        limit: q.limit + 1,
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
      });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map(presentMatter),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get(
    '/v1/matters/:id',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['matters'],
        summary: 'A matter with its events, exception filings and notifications',
        security: secured,
        params: MatterIdParams,
        response: { 200: MatterView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const row = await matters.load(request.params.id);
      if (!(await mayRead(sql, p, row))) throw notFound('MATTER_NOT_FOUND', `no matter ${request.params.id}`);
      const [events, filings, notifications] = await Promise.all([
        listEvents(sql, row.id),
        listFilings(sql, row.id),
        listNotifications(sql, row.id),
      ]);
      const staff = p.role !== 'handler' && p.role !== 'source';
      const changes = staff ? await listChangeRequests(sql, { matterId: row.id }, 200) : null;
      return {
        ...presentMatter(row),
        ...(changes ? { changeRequests: changes.map(presentChangeRequest) } : {}),
        events: events.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString() })),
        exceptions: filings.map((f) => ({ ...f, filedAt: f.filedAt.toISOString() })),
        notifications: notifications.map((n) => ({
          ...n,
          createdAt: n.createdAt.toISOString(),
          deliveredAt: iso(n.deliveredAt),
        })),
      };
    },
  );

  app.post(
    '/v1/matters/:id/complete',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('Complete a matter (its handler)', CompleteBody),
    },
    async (request) =>
      matters.complete(request.params.id, { actorId: principalOf(request).subject, ...request.body }),
  );

  app.post(
    '/v1/matters/:id/transfer',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('Transfer a matter to another handler (its handler)', TransferBody),
    },
    async (request) =>
      matters.transfer(request.params.id, { actorId: principalOf(request).subject, ...request.body }),
  );

  app.post(
    '/v1/matters/:id/exceptions',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('File an exception on a matter by event type (its handler)', ExceptionBody),
    },
    async (request) =>
      matters.fileException(request.params.id, { actorId: principalOf(request).subject, ...request.body }),
  );
};
