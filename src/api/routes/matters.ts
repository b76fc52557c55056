import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Principal } from '../../db/api-tokens.js';
import { getChangeRequest, listChangeRequests } from '../../db/change-requests.js';
import type { Sql } from '../../db/client.js';
import { standingInFor } from '../../db/delegations.js';
import { listEvents, listFilings } from '../../db/events.js';
import { isActiveMember } from '../../db/groups.js';
import {
  findMatterByKey,
  type HandlerScope,
  handlerMayRead,
  listMatters,
  type MatterFilter,
  type MatterRow,
} from '../../db/matters.js';
import { listNotifications } from '../../db/notifications.js';
import { findSourceSystem } from '../../db/source-systems.js';
import { principalOf, requireRole } from '../auth.js';
import type { ChangeService } from '../change-service.js';
import { ApiError, badRequest, forbidden, notFound } from '../errors.js';
import type { MatterService } from '../matter-service.js';
import { iso, presentChangeRequest } from '../presenters.js';
import {
  AcknowledgeBody,
  ActionResponse,
  ChangeRequestView,
  ClaimBody,
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
  RejectTransferBody,
  ReleaseBody,
  TransferBody,
} from '../schemas.js';
import type { SourceRateLimit } from '../source-rate-limit.js';

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
    groupId: row.groupId,
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

/** Whether `p` may see this matter at all: the API and the web pages ask the same. */
export async function mayRead(sql: Sql, p: Principal, row: MatterRow): Promise<boolean> {
  if (p.role === 'admin' || p.role === 'manager' || p.role === 'reviewer' || p.role === 'auditor')
    return true;
  if (p.role === 'source') return row.source === p.subject;
  return handlerMayRead(sql, row.id, await scopeOf(sql, p.subject));
}

/** Only a registered, active source marked trusted skips review; anything unknown is reviewed. */
async function trustedSource(sql: Sql, code: string): Promise<boolean> {
  const source = await findSourceSystem(sql, code);
  return !!source && source.trusted && source.active;
}

/**
 * A resent push of a matter already awaiting review gets the same request back, so a source's
 * retry is safe; a different proposal for the same matter is refused by the change service.
 */
async function proposeOnce(
  changes: ChangeService,
  sql: Sql,
  matter: MatterInputBody,
  makerId: string,
  why: string,
) {
  try {
    return await changes.propose({ kind: 'add', matter, reason: why }, makerId);
  } catch (err) {
    const pendingId = err instanceof ApiError && err.code === 'CHANGE_PENDING' ? pendingIdOf(err) : null;
    const pending = pendingId ? await getChangeRequest(sql, pendingId) : null;
    const same =
      pending?.kind === 'add' &&
      pending.makerId === makerId &&
      Object.entries(matter).every(([k, v]) => JSON.stringify(pending.proposed[k]) === JSON.stringify(v));
    if (same && pending) return pending;
    throw err;
  }
}

const pendingIdOf = (err: ApiError): string | null => {
  const id = (err.details as { changeRequestId?: unknown } | undefined)?.changeRequestId;
  return typeof id === 'string' ? id : null;
};

async function scopeOf(sql: Sql, handlerId: string): Promise<HandlerScope> {
  return { handlerId, standingInFor: await standingInFor(sql, handlerId) };
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
  sourceLimit: SourceRateLimit;
}> = async (app, { sql, matters, changes, sourceLimit }) => {
  app.post(
    '/v1/matters',
    {
      preHandler: [
        requireRole('source', 'manager', 'admin'),
        // A source's pushes here count against the same budget as its /v1/sources routes.
        async (request, reply) => {
          if (principalOf(request).role === 'source') await sourceLimit(request, reply);
        },
      ],
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
      if (p.role === 'manager' || (p.role === 'source' && !(await trustedSource(sql, p.subject)))) {
        const existing = await findMatterByKey(sql, request.body.source, request.body.externalId);
        if (!existing) {
          const why =
            p.role === 'manager' ? 'a manager’s new matter' : `pushed by untrusted source "${p.subject}"`;
          const cr = await proposeOnce(changes, sql, request.body, p.subject, why);
          reply.header('location', `/v1/change-requests/${cr.id}`);
          return reply.code(202).send({ changeRequestId: cr.id, status: 'pending' });
        }
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
      const filter: MatterFilter = {
        handlerId: q.handlerId,
        groupId: q.groupId,
        status: q.status,
        source: q.source,
        dueBefore: q.dueBefore,
      };
      if (p.role === 'handler') {
        const scope = await scopeOf(sql, p.subject);
        if (q.handlerId !== undefined && ![scope.handlerId, ...scope.standingInFor].includes(q.handlerId)) {
          throw forbidden('a handler may list only their own matters and those of people they stand in for');
        }
        filter.scope = scope;
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
      matters.complete(request.params.id, {
        ...(await matters.actorOn(principalOf(request).subject, await matters.load(request.params.id))),
        ...request.body,
      }),
  );

  app.post(
    '/v1/matters/:id/transfer',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('Transfer a matter to another handler (its handler)', TransferBody),
    },
    async (request) =>
      matters.transfer(request.params.id, {
        ...(await matters.actorOn(principalOf(request).subject, await matters.load(request.params.id))),
        ...request.body,
      }),
  );

  app.post(
    '/v1/matters/:id/reject-transfer',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema(
        'Hand a transferred matter back, with the reason, to whoever transferred it (its new handler)',
        RejectTransferBody,
      ),
    },
    async (request) =>
      matters.rejectTransfer(request.params.id, {
        ...(await matters.actorOn(principalOf(request).subject, await matters.load(request.params.id))),
        ...request.body,
      }),
  );

  app.post(
    '/v1/matters/:id/exceptions',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('File an exception on a matter by event type (its handler)', ExceptionBody),
    },
    async (request) =>
      matters.fileException(request.params.id, {
        ...(await matters.actorOn(principalOf(request).subject, await matters.load(request.params.id))),
        ...request.body,
      }),
  );

  app.post(
    '/v1/matters/:id/acknowledge',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema(
        'Acknowledge a matter (its handler): reminders go on, the escalation ladder climbs no further',
        AcknowledgeBody,
      ),
    },
    async (request) =>
      matters.acknowledge(request.params.id, {
        ...(await matters.actorOn(principalOf(request).subject, await matters.load(request.params.id))),
        ...request.body,
      }),
  );

  app.post(
    '/v1/matters/:id/claim',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('Claim a matter offered to your group; the first claim wins', ClaimBody),
    },
    async (request) => {
      const actorId = principalOf(request).subject;
      const row = await matters.load(request.params.id);
      if (row.groupId && !(await isActiveMember(sql, row.groupId, actorId))) {
        throw forbidden(`only members of group ${row.groupId} may claim this matter`);
      }
      return matters.claim(row.id, { actorId });
    },
  );

  app.post(
    '/v1/matters/:id/release',
    {
      preHandler: requireRole('handler'),
      schema: actionSchema('Give a claimed matter back to its group (its current handler)', ReleaseBody),
    },
    async (request) =>
      matters.release(request.params.id, {
        ...(await matters.actorOn(principalOf(request).subject, await matters.load(request.params.id))),
        ...request.body,
      }),
  );
};
