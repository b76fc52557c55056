import type { FastifyInstance } from 'fastify';
import { standingInFor } from '../../db/delegations.js';
import { handlerNames } from '../../db/handlers.js';
import { listMatters, type MatterFilter } from '../../db/matters.js';
import { PRIORITIES } from '../../domain/matter.js';
import type { WebDeps } from '../plugin.js';

/** An inbox longer than this is a backlog for the console, not a list to scroll. */
const INBOX_LIMIT = 200;

interface InboxQuery {
  priority?: string;
  source?: string;
  overdue?: string;
  q?: string;
}

const text = (v: unknown, max = 200): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, max) : undefined;

/** The handler's open matters: own, stood in for and claimable by their groups, soonest due first. */
export async function inboxRoutes(app: FastifyInstance, { sql }: WebDeps) {
  app.get<{ Querystring: InboxQuery }>(
    '/inbox',
    { schema: { tags: ['web'], summary: 'The handler’s inbox of open matters' } },
    async (request, reply) => {
      const user = request.webUser!;
      const q = request.query;
      const filters = {
        priority: PRIORITIES.find((p) => p === q.priority),
        source: text(q.source, 64),
        overdue: q.overdue === '1',
        q: text(q.q),
      };
      if (user.role !== 'handler') {
        return reply.page('inbox', {
          nav: 'inbox',
          rows: null,
          filters,
          priorities: PRIORITIES,
        });
      }
      const scope = { handlerId: user.subject, standingInFor: await standingInFor(sql, user.subject) };
      const now = new Date();
      const filter: MatterFilter = {
        scope,
        status: 'open',
        priority: filters.priority,
        source: filters.source,
        search: filters.q,
        dueBefore: filters.overdue ? now.toISOString() : undefined,
      };
      const matters = await listMatters(sql, filter, { limit: INBOX_LIMIT, order: 'due' });
      const names = await handlerNames(sql, scope.standingInFor);
      const rows = matters.map((m) => ({
        id: m.id,
        title: m.title,
        source: m.source,
        externalId: m.externalId,
        priority: m.priority,
        dueAt: m.dueAt,
        overdue: m.dueAt !== null && m.dueAt < now,
        why:
          m.handlerId === user.subject
            ? { key: 'inbox.why.own', params: {} }
            : m.handlerId
              ? { key: 'inbox.why.standIn', params: { name: names.get(m.handlerId) ?? m.handlerId } }
              : { key: 'inbox.why.group', params: { group: m.groupId ?? '' } },
      }));
      return reply.page('inbox', {
        nav: 'inbox',
        rows,
        truncated: matters.length === INBOX_LIMIT,
        filters,
        priorities: PRIORITIES,
      });
    },
  );
}
