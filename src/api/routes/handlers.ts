import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { Role } from '../../db/api-tokens.js';
import { audit } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import {
  type ChannelRow,
  getHandler,
  type HandlerRecord,
  insertHandler,
  updateHandler,
  wouldLoop,
} from '../../db/handlers.js';
import { CapsError, checkReminderCaps, type ReminderCaps } from '../../domain/reminder-caps.js';
import type { OutboundPolicy } from '../../security/outbound-address.js';
import { principalOf, requireRole } from '../auth.js';
import { ApiError, badRequest, conflict, notFound, unprocessable } from '../errors.js';
import { checkOutboundUrl } from '../outbound.js';
import {
  type ChannelInput,
  ErrorResponse,
  HandlerInput,
  HandlerPatch,
  HandlerResponse,
  Id,
} from '../schemas.js';

/** Equal ends would mean no quiet hours at all; say so by sending null instead. */
function checkQuiet(q: { start: string; end: string } | null | undefined): void {
  if (q && q.start === q.end) {
    throw badRequest('INVALID_QUIET_HOURS', 'quiet hours must start and end at different times', [
      { field: 'body.quietHours.end' },
    ]);
  }
}

function checkCaps(caps: ReminderCaps | null | undefined): void {
  if (!caps) return;
  try {
    checkReminderCaps(caps);
  } catch (err) {
    if (!(err instanceof CapsError)) throw err;
    throw badRequest('INVALID_REMINDER_CAPS', err.message, [{ field: `body.reminderCaps.${err.field}` }]);
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Channel secrets never leave the server. */
function present(h: HandlerRecord) {
  return {
    id: h.id,
    name: h.name,
    supervisorId: h.supervisorId,
    timezone: h.timezone,
    locale: h.locale,
    quietHours: h.quietHours,
    reminderCaps: h.reminderCaps,
    active: h.active,
    channels: h.channels.map((c) => ({ type: c.type, address: c.address })),
    createdAt: h.createdAt.toISOString(),
  };
}

/** The channels this deployment sends through, and which URLs their webhooks may point at. */
export interface ChannelRules {
  types: readonly string[];
  outbound: OutboundPolicy;
}

const DIRECTORY_READERS: ReadonlySet<Role> = new Set(['admin', 'manager', 'reviewer', 'auditor']);

/** Channel types whose address is a URL the worker POSTs to. */
const URL_CHANNELS: readonly string[] = ['webhook', 'teams'];

/** Channels as stored; a type this deployment cannot send through would leave the handler unreachable. */
function channelRows(channels: Static<typeof ChannelInput>[], rules: ChannelRules): ChannelRow[] {
  return channels.map((c, i) => {
    if (!rules.types.includes(c.type)) {
      throw new ApiError(
        422,
        'CHANNEL_NOT_AVAILABLE',
        `this deployment has no ${c.type} channel configured`,
        [{ field: `body.channels.${i}.type` }],
      );
    }
    if (URL_CHANNELS.includes(c.type))
      checkOutboundUrl(rules.outbound, c.address, `body.channels.${i}.address`);
    return {
      type: c.type,
      address: c.address,
      settings: 'secret' in c && c.secret ? { secret: c.secret } : {},
    };
  });
}

/** Creates a handler with their channels and its audit row; the API and the console both call this. */
export async function createHandler(sql: Sql, channels: ChannelRules, actorId: string, body: HandlerInput) {
  const timezone = body.timezone ?? 'UTC';
  if (!isTimeZone(timezone)) {
    throw badRequest('INVALID_TIMEZONE', `"${timezone}" is not an IANA time zone`, [
      { field: 'body.timezone' },
    ]);
  }
  checkQuiet(body.quietHours);
  checkCaps(body.reminderCaps);
  if (body.supervisorId === body.id) {
    throw unprocessable('INVALID_SUPERVISOR', 'a handler cannot supervise themselves');
  }
  return sql.begin(async (tx) => {
    if (body.supervisorId) {
      const [sup] = await tx`select 1 from handlers where id = ${body.supervisorId}`;
      if (!sup) throw unprocessable('UNKNOWN_SUPERVISOR', `no handler "${body.supervisorId}" to supervise`);
    }
    const ok = await insertHandler(tx, {
      id: body.id,
      name: body.name,
      supervisorId: body.supervisorId ?? null,
      timezone,
      locale: body.locale ?? 'zh-CN',
      quietHours: body.quietHours ?? null,
      reminderCaps: body.reminderCaps ?? null,
      channels: channelRows(body.channels, channels),
    });
    if (!ok) throw conflict('HANDLER_EXISTS', `handler "${body.id}" already exists`);
    const handler = present((await getHandler(tx, body.id))!);
    await audit(tx, {
      actorId,
      action: 'handler.created',
      entityType: 'handler',
      entityId: body.id,
      after: handler,
    });
    return handler;
  });
}

export const handlerRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; channels: ChannelRules }> = async (
  app,
  { sql, channels },
) => {
  app.post(
    '/v1/handlers',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['directory'],
        summary: 'Create a handler with their channels in order of preference',
        security: [{ bearer: [] }],
        body: HandlerInput,
        response: { 201: HandlerResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createHandler(sql, channels, principalOf(request).subject, request.body)),
  );

  app.get(
    '/v1/handlers/:id',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['directory'],
        summary: 'A handler',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id }),
        response: { 200: HandlerResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { id } = request.params;
      // Channel addresses reach a person: staff read any handler, a handler themself; to anyone else a
      // handler is not there, as a matter they may not see is not.
      const mayRead = DIRECTORY_READERS.has(p.role) || (p.role === 'handler' && p.subject === id);
      const handler = mayRead ? await getHandler(sql, id) : null;
      if (!handler) throw notFound('HANDLER_NOT_FOUND', `no handler "${id}"`);
      return present(handler);
    },
  );

  app.patch(
    '/v1/handlers/:id',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['directory'],
        summary:
          'Change a handler: name, channels, supervisor, time zone, locale, quiet hours, reminder caps, or active flag',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id }),
        body: HandlerPatch,
        response: { 200: HandlerResponse, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const actor = principalOf(request);
      const { id } = request.params;
      const patch = request.body;
      checkQuiet(patch.quietHours);
      checkCaps(patch.reminderCaps);
      if (patch.timezone !== undefined && !isTimeZone(patch.timezone)) {
        throw badRequest('INVALID_TIMEZONE', `"${patch.timezone}" is not an IANA time zone`, [
          { field: 'body.timezone' },
        ]);
      }
      return sql.begin(async (tx) => {
        const current = await getHandler(tx, id);
        if (!current) throw notFound('HANDLER_NOT_FOUND', `no handler "${id}"`);
        if (patch.supervisorId) {
          if (patch.supervisorId === id)
            throw unprocessable('INVALID_SUPERVISOR', 'a handler cannot supervise themselves');
          const [sup] = await tx`select 1 from handlers where id = ${patch.supervisorId}`;
          if (!sup)
            throw unprocessable('UNKNOWN_SUPERVISOR', `no handler "${patch.supervisorId}" to supervise`);
          if (await wouldLoop(tx, id, patch.supervisorId)) {
            throw unprocessable('SUPERVISOR_LOOP', `"${patch.supervisorId}" already reports to "${id}"`);
          }
        }
        await updateHandler(tx, id, {
          ...patch,
          channels: patch.channels && channelRows(patch.channels, channels),
        });
        const before = present(current);
        const after = present((await getHandler(tx, id))!);
        await audit(tx, {
          actorId: actor.subject,
          action: 'handler.updated',
          entityType: 'handler',
          entityId: id,
          before,
          after,
        });
        return after;
      });
    },
  );
};
