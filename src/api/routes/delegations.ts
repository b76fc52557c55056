import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Principal } from '../../db/api-tokens.js';
import { audit } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import {
  type DelegationRecord,
  getDelegation,
  insertDelegation,
  listDelegations,
  liveWindows,
  lockDelegations,
  revokeDelegation,
} from '../../db/delegations.js';
import { getHandler } from '../../db/handlers.js';
import { checkNewWindow, MAX_DELEGATION_HOPS, type WindowProblem } from '../../domain/delegation.js';
import { principalOf, requireRole } from '../auth.js';
import { badRequest, conflict, forbidden, notFound, unprocessable } from '../errors.js';
import { iso } from '../presenters.js';
import {
  DelegationInput,
  DelegationList,
  DelegationParams,
  DelegationView,
  ErrorResponse,
  Id,
} from '../schemas.js';

const MAX_WINDOW_MS = 366 * 24 * 3600_000;

const PROBLEMS: Record<WindowProblem, string> = {
  OVERLAPS_OWN_WINDOW: 'this handler already has a stand-in for part of that time',
  DELEGATION_CYCLE: 'the stand-ins would hand the matters back round in a circle',
  DELEGATION_CHAIN_TOO_LONG: `a chain of stand-ins may be at most ${MAX_DELEGATION_HOPS} long`,
};

function present(d: DelegationRecord) {
  return {
    ...d,
    startsAt: d.startsAt.toISOString(),
    endsAt: d.endsAt.toISOString(),
    createdAt: d.createdAt.toISOString(),
    revokedAt: iso(d.revokedAt),
  };
}

/** Staff manage anyone's absence; a handler manages their own. */
function mayManage(p: Principal, handlerId: string): boolean {
  return p.role === 'admin' || p.role === 'manager' || (p.role === 'handler' && p.subject === handlerId);
}

function mayRead(p: Principal, handlerId: string): boolean {
  return mayManage(p, handlerId) || p.role === 'reviewer' || p.role === 'auditor';
}

const secured = [{ bearer: [] }];

/** Out-of-office: while a window lasts, the delegate gets the handler's new matters and reminders. */
export const delegationRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.post(
    '/v1/handlers/:id/delegations',
    {
      preHandler: requireRole('admin', 'manager', 'handler'),
      schema: {
        tags: ['directory'],
        summary: 'Name a stand-in for a time window (the handler, or staff)',
        security: secured,
        params: Type.Object({ id: Id }),
        body: DelegationInput,
        response: { 201: DelegationView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const handlerId = request.params.id;
      if (!mayManage(actor, handlerId)) throw forbidden('a handler may set only their own stand-in');
      const { delegateId, reason } = request.body;
      const startsAt = new Date(request.body.startsAt);
      const endsAt = new Date(request.body.endsAt);
      if (endsAt <= startsAt) {
        throw badRequest('INVALID_WINDOW', 'endsAt must be after startsAt', [{ field: 'body.endsAt' }]);
      }
      if (endsAt.getTime() <= Date.now()) {
        throw badRequest('INVALID_WINDOW', 'the window is already over', [{ field: 'body.endsAt' }]);
      }
      if (endsAt.getTime() - startsAt.getTime() > MAX_WINDOW_MS) {
        throw badRequest('INVALID_WINDOW', 'a window may last at most 366 days', [{ field: 'body.endsAt' }]);
      }
      if (delegateId === handlerId) {
        throw unprocessable('INVALID_DELEGATE', 'a handler cannot stand in for themselves');
      }
      const saved = await sql.begin(async (tx) => {
        if (!(await getHandler(tx, handlerId)))
          throw notFound('HANDLER_NOT_FOUND', `no handler "${handlerId}"`);
        if (!(await getHandler(tx, delegateId))?.active) {
          throw unprocessable('UNKNOWN_HANDLER', `no active handler "${delegateId}" to stand in`);
        }
        await lockDelegations(tx);
        const proposed = { handlerId, delegateId, startsAt: startsAt.getTime(), endsAt: endsAt.getTime() };
        const problem = checkNewWindow(proposed, await liveWindows(tx, new Date()));
        if (problem) throw conflict(problem, PROBLEMS[problem]);
        const d = present(
          await insertDelegation(tx, {
            handlerId,
            delegateId,
            startsAt,
            endsAt,
            reason: reason ?? null,
            createdBy: actor.subject,
          }),
        );
        await audit(tx, {
          actorId: actor.subject,
          actingFor: actor.subject === handlerId ? null : handlerId,
          action: 'delegation.created',
          entityType: 'delegation',
          entityId: d.id,
          after: d,
          reason: reason ?? null,
        });
        return d;
      });
      return reply.code(201).send(saved);
    },
  );

  app.get(
    '/v1/handlers/:id/delegations',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['directory'],
        summary: 'Windows where the handler is away or stands in, newest first',
        security: secured,
        params: Type.Object({ id: Id }),
        response: { 200: DelegationList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      if (!mayRead(actor, request.params.id)) throw forbidden('a handler may read only their own windows');
      return { items: (await listDelegations(sql, request.params.id)).map(present) };
    },
  );

  app.delete(
    '/v1/handlers/:id/delegations/:delegationId',
    {
      preHandler: requireRole('admin', 'manager', 'handler'),
      schema: {
        tags: ['directory'],
        summary: 'End a window now (the handler is back); matters and reminders return at once',
        security: secured,
        params: DelegationParams,
        response: { 200: DelegationView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      const { id, delegationId } = request.params;
      if (!mayManage(actor, id)) throw forbidden('a handler may end only their own windows');
      return sql.begin(async (tx) => {
        const current = await getDelegation(tx, delegationId);
        if (!current || current.handlerId !== id) {
          throw notFound('DELEGATION_NOT_FOUND', `no window ${delegationId} for "${id}"`);
        }
        if (current.revokedAt) return present(current);
        const after = present(await revokeDelegation(tx, delegationId, actor.subject));
        await audit(tx, {
          actorId: actor.subject,
          actingFor: actor.subject === id ? null : id,
          action: 'delegation.revoked',
          entityType: 'delegation',
          entityId: delegationId,
          before: present(current),
          after,
        });
        return after;
      });
    },
  );
};
