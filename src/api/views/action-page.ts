import type { FastifyReply } from 'fastify';
import type { LinkAction } from '../../activities/contracts.js';
import type { HandlerRecord } from '../../db/handlers.js';
import type { MatterRow } from '../../db/matters.js';

/** The handler the link was minted for decides the page's language and time zone, unless they chose one. */
const forHandler = (handler: HandlerRecord | null) => ({
  handlerLocale: handler?.locale ?? null,
  timeZone: handler?.timezone ?? 'UTC',
});

/** The confirm page: showing it changes nothing, so link scanners and previews are harmless. */
export function confirmPage(
  reply: FastifyReply,
  matter: MatterRow,
  action: LinkAction,
  handler: HandlerRecord | null,
) {
  const link = matter.link && /^https?:\/\//.test(matter.link) ? matter.link : null;
  return reply.page('action-confirm', { matter, action, link }, forHandler(handler));
}

export function resultPage(
  reply: FastifyReply,
  result: { ok: true; action: LinkAction; matterId: string } | { ok: false; message: string },
  handler: HandlerRecord | null = null,
) {
  return reply.page('action-result', { result }, { ...forHandler(handler), status: reply.statusCode });
}
