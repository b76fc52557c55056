import type { ChatCommand } from '../channels/xmpp.js';
import type { Sql } from '../db/client.js';
import { standingInFor } from '../db/delegations.js';
import { handlerByChannelAddress } from '../db/handler-channels.js';
import { listMatters, type MatterRow } from '../db/matters.js';
import { ApiError } from './errors.js';
import type { MatterService } from './matter-service.js';

const LIST_LIMIT = 20;
/** Matter ids are UUIDs; in a chat a handler types the first characters that `list` shows. */
const SHORT_ID = 8;
const MIN_PREFIX = 6;

const due = (m: MatterRow) =>
  m.dueAt ? `, due ${m.dueAt.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';

/**
 * Chat commands from a handler's IM client, acted on as the API would act for them: the sender is
 * known by their channel address, stand-ins act for the absent handler, and every refusal is told.
 */
export function chatCommands({ sql, matters }: { sql: Sql; matters: MatterService }) {
  async function openMatters(handlerId: string): Promise<MatterRow[]> {
    const scope = { handlerId, standingInFor: await standingInFor(sql, handlerId) };
    return listMatters(sql, { scope, status: 'open' }, { limit: LIST_LIMIT });
  }

  /** A full id, or a prefix that names exactly one of the handler's open matters. */
  async function resolve(handlerId: string, ref: string): Promise<string> {
    if (/^[0-9a-f-]{36}$/i.test(ref)) return ref.toLowerCase();
    if (ref.length < MIN_PREFIX)
      throw new ApiError(400, 'AMBIGUOUS_ID', `give at least ${MIN_PREFIX} characters of the id`);
    const hits = (await openMatters(handlerId)).filter((m) => m.id.startsWith(ref.toLowerCase()));
    if (hits.length !== 1) {
      throw new ApiError(
        404,
        'MATTER_NOT_FOUND',
        hits.length ? `"${ref}" names more than one matter` : `no open matter "${ref}" of yours`,
      );
    }
    return hits[0]!.id;
  }

  async function run(handlerId: string, command: ChatCommand): Promise<string> {
    if (command.kind === 'list') {
      const open = await openMatters(handlerId);
      if (open.length === 0) return 'You have no open matters.';
      const lines = open.map((m) => `${m.id.slice(0, SHORT_ID)}  ${m.title} [${m.priority}${due(m)}]`);
      return [`Open matters (${open.length}):`, ...lines].join('\n');
    }
    const id = await resolve(handlerId, command.matterId);
    const matter = await matters.load(id);
    const as = await matters.actorOn(handlerId, matter);
    switch (command.kind) {
      case 'done': {
        await matters.complete(id, {
          ...as,
          ...(command.comment ? { comment: command.comment } : {}),
        });
        return `Completed: ${matter.title}`;
      }
      case 'transfer': {
        await matters.transfer(id, {
          ...as,
          toHandlerId: command.toHandlerId,
          reason: command.reason,
        });
        return `Transferred to ${command.toHandlerId}: ${matter.title}`;
      }
      case 'reject': {
        const handed = await matters.rejectTransfer(id, { ...as, reason: command.reason });
        return `Handed back to ${handed.handlerId}: ${matter.title}`;
      }
      case 'exception': {
        await matters.fileException(id, {
          ...as,
          eventType: command.eventType,
          description: command.description,
        });
        return `Exception ${command.eventType} filed: ${matter.title}`;
      }
      case 'ack': {
        await matters.acknowledge(id, as);
        return `Acknowledged: ${matter.title}`;
      }
    }
  }

  return {
    /** For the XMPP channel's `onChat`: the reply to send back. */
    async xmpp(from: string, command: ChatCommand): Promise<string> {
      const handlerId = await handlerByChannelAddress(sql, 'xmpp', [from]);
      if (!handlerId) return 'This address is not a matterflow handler’s.';
      try {
        return await run(handlerId, command);
      } catch (err) {
        if (err instanceof ApiError) return `Refused (${err.code}): ${err.message}`;
        throw err;
      }
    },
  };
}
