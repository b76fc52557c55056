import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { audit } from '../../db/audit.js';
import type { Queryable, Sql } from '../../db/client.js';
import {
  type GroupRecord,
  getGroup,
  insertGroup,
  listGroups,
  unknownHandlers,
  updateGroup,
} from '../../db/groups.js';
import { principalOf, requireRole } from '../auth.js';
import { conflict, notFound, unprocessable } from '../errors.js';
import { ErrorResponse, GroupInput, GroupList, GroupPatch, GroupView, Id } from '../schemas.js';

function present(g: GroupRecord) {
  return { ...g, createdAt: g.createdAt.toISOString(), updatedAt: g.updatedAt.toISOString() };
}

async function checkPeople(
  db: Queryable,
  members: string[] | undefined,
  supervisorId: string | null | undefined,
) {
  const unknown = await unknownHandlers(db, [...(members ?? []), ...(supervisorId ? [supervisorId] : [])]);
  if (unknown.length > 0) {
    throw unprocessable('UNKNOWN_HANDLER', `no handler ${unknown.map((u) => `"${u}"`).join(', ')}`);
  }
}

const secured = [{ bearer: [] }];
const GroupParams = Type.Object({ id: Id });

/** Groups of handlers: a matter offered to a group is claimed by one member. */
export const groupRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.post(
    '/v1/groups',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['directory'],
        summary: 'Create a group of handlers; its supervisor hears of escalations while nobody has claimed',
        security: secured,
        body: GroupInput,
        response: { 201: GroupView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const body = request.body;
      const created = await sql.begin(async (tx) => {
        await checkPeople(tx, body.members, body.supervisorId);
        const ok = await insertGroup(tx, {
          id: body.id,
          name: body.name,
          supervisorId: body.supervisorId ?? null,
          members: body.members,
          createdBy: actor.subject,
        });
        if (!ok) throw conflict('GROUP_EXISTS', `group "${body.id}" already exists`);
        const group = present((await getGroup(tx, body.id))!);
        await audit(tx, {
          actorId: actor.subject,
          action: 'group.created',
          entityType: 'group',
          entityId: body.id,
          after: group,
        });
        return group;
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/groups',
    {
      preHandler: requireRole('admin', 'manager', 'reviewer', 'auditor', 'handler'),
      schema: {
        tags: ['directory'],
        summary: 'Groups; a handler sees the groups they belong to',
        security: secured,
        response: { 200: GroupList, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const groups = await listGroups(sql, p.role === 'handler' ? p.subject : undefined);
      return { items: groups.map(present) };
    },
  );

  app.get(
    '/v1/groups/:id',
    {
      preHandler: requireRole('admin', 'manager', 'reviewer', 'auditor', 'handler'),
      schema: {
        tags: ['directory'],
        summary: 'A group with its members',
        security: secured,
        params: GroupParams,
        response: { 200: GroupView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const group = await getGroup(sql, request.params.id);
      if (!group || (p.role === 'handler' && !group.members.includes(p.subject))) {
        throw notFound('GROUP_NOT_FOUND', `no group "${request.params.id}"`);
      }
      return present(group);
    },
  );

  app.patch(
    '/v1/groups/:id',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['directory'],
        summary: 'Rename a group, change its supervisor, members or active flag',
        security: secured,
        params: GroupParams,
        body: GroupPatch,
        response: { 200: GroupView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      const { id } = request.params;
      return sql.begin(async (tx) => {
        const current = await getGroup(tx, id);
        if (!current) throw notFound('GROUP_NOT_FOUND', `no group "${id}"`);
        await checkPeople(tx, request.body.members, request.body.supervisorId);
        await updateGroup(tx, id, request.body);
        const after = present((await getGroup(tx, id))!);
        await audit(tx, {
          actorId: actor.subject,
          action: 'group.updated',
          entityType: 'group',
          entityId: id,
          before: present(current),
          after,
        });
        return after;
      });
    },
  );
};
