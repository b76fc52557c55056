import { formatDue, type Locale, localeOf, priorityLabel, say } from '../channels/message-text.js';
import { CHAT_VERBS, type ChatCommand, type ChatProblem, type ParsedCommand } from '../channels/xmpp.js';
import type { Sql } from '../db/client.js';
import { standingInFor } from '../db/delegations.js';
import { handlerByChannelAddress } from '../db/handler-channels.js';
import { getHandler } from '../db/handlers.js';
import { listMatters, type MatterRow } from '../db/matters.js';
import { ApiError } from './errors.js';
import type { MatterService } from './matter-service.js';

const LIST_LIMIT = 20;
/** Matter ids are UUIDs; in a chat a handler types the first characters that `list` shows. */
const SHORT_ID = 8;
const MIN_PREFIX = 6;

const USAGE = {
  list: 'chat.usage.list',
  done: 'chat.usage.done',
  ack: 'chat.usage.ack',
  transfer: 'chat.usage.transfer',
  reject: 'chat.usage.reject',
  exception: 'chat.usage.exception',
  help: 'chat.usage.help',
} as const satisfies Record<(typeof CHAT_VERBS)[number], string>;

/** What `help` answers: every command with what it does. */
export function chatUsage(locale: Locale): string {
  return [say(locale, 'chat.commands'), ...CHAT_VERBS.map((verb) => `  ${say(locale, USAGE[verb])}`)].join(
    '\n',
  );
}

/** Why a chat is no command, and how to write it. */
export function chatProblemText(problem: ChatProblem, locale: Locale): string {
  switch (problem.problem) {
    case 'tooLong':
      return say(locale, 'chat.tooLong', { max: problem.max });
    case 'usage':
      return say(locale, 'chat.usage', { usage: say(locale, USAGE[problem.verb]) });
    case 'empty':
      return `${say(locale, 'chat.empty')}\n${chatUsage(locale)}`;
    case 'unknown':
      return `${say(locale, 'chat.unknown', { word: problem.word })}\n${chatUsage(locale)}`;
  }
}

const due = (m: MatterRow, locale: Locale) =>
  m.dueAt ? say(locale, 'chat.openDue', { due: formatDue(m.dueAt.toISOString()) }) : '';

/**
 * Chat commands from a handler's IM client, acted on as the API would act for them: the sender is
 * known by their channel address, stand-ins act for the absent handler, and every refusal is told, in
 * the sender's language.
 */
export function chatCommands({ sql, matters }: { sql: Sql; matters: MatterService }) {
  async function openMatters(handlerId: string): Promise<MatterRow[]> {
    const scope = { handlerId, standingInFor: await standingInFor(sql, handlerId) };
    return listMatters(sql, { scope, status: 'open' }, { limit: LIST_LIMIT });
  }

  /** A full id, or a prefix that names exactly one of the handler's open matters. */
  async function resolve(handlerId: string, ref: string, locale: Locale): Promise<string> {
    if (/^[0-9a-f-]{36}$/i.test(ref)) return ref.toLowerCase();
    if (ref.length < MIN_PREFIX)
      throw new ApiError(400, 'AMBIGUOUS_ID', say(locale, 'chat.idTooShort', { n: MIN_PREFIX }));
    const hits = (await openMatters(handlerId)).filter((m) => m.id.startsWith(ref.toLowerCase()));
    if (hits.length !== 1) {
      throw new ApiError(
        404,
        'MATTER_NOT_FOUND',
        say(locale, hits.length ? 'chat.idAmbiguous' : 'chat.idUnknown', { ref }),
      );
    }
    return hits[0]!.id;
  }

  async function run(handlerId: string, command: ChatCommand, locale: Locale): Promise<string> {
    if (command.kind === 'list') {
      const open = await openMatters(handlerId);
      if (open.length === 0) return say(locale, 'chat.none');
      const lines = open.map(
        (m) =>
          `${m.id.slice(0, SHORT_ID)}  ${m.title} [${priorityLabel(m.priority, locale)}${due(m, locale)}]`,
      );
      return [say(locale, 'chat.open', { n: open.length }), ...lines].join('\n');
    }
    const id = await resolve(handlerId, command.matterId, locale);
    const matter = await matters.load(id);
    const as = await matters.actorOn(handlerId, matter);
    const title = matter.title;
    switch (command.kind) {
      case 'done': {
        await matters.complete(id, {
          ...as,
          ...(command.comment ? { comment: command.comment } : {}),
        });
        return say(locale, 'chat.completed', { title });
      }
      case 'transfer': {
        await matters.transfer(id, {
          ...as,
          toHandlerId: command.toHandlerId,
          reason: command.reason,
        });
        return say(locale, 'chat.transferred', { to: command.toHandlerId, title });
      }
      case 'reject': {
        const handed = await matters.rejectTransfer(id, { ...as, reason: command.reason });
        return say(locale, 'chat.handedBack', { to: handed.handlerId ?? '', title });
      }
      case 'exception': {
        await matters.fileException(id, {
          ...as,
          eventType: command.eventType,
          description: command.description,
        });
        return say(locale, 'chat.exceptionFiled', { type: command.eventType, title });
      }
      case 'ack': {
        await matters.acknowledge(id, as);
        return say(locale, 'chat.acknowledged', { title });
      }
    }
  }

  return {
    /** For the XMPP channel's `onChat`: the reply to send back. */
    async xmpp(from: string, command: ParsedCommand): Promise<string> {
      const handlerId = await handlerByChannelAddress(sql, 'xmpp', [from]);
      // Someone who is no handler still learns how to write a command, in the web's default language.
      const locale = localeOf(handlerId ? (await getHandler(sql, handlerId))?.locale : null);
      if (command.kind === 'help') return chatUsage(locale);
      if (command.kind === 'invalid') return chatProblemText(command, locale);
      if (!handlerId) return say(locale, 'chat.notHandler');
      try {
        return await run(handlerId, command, locale);
      } catch (err) {
        if (err instanceof ApiError)
          return say(locale, 'chat.refused', { code: err.code, message: err.message });
        throw err;
      }
    },
  };
}
