import { createHash, randomUUID } from 'node:crypto';
import {
  type Authenticate,
  client,
  jid,
  type XmlElement,
  type Client as XmppClient,
  xml,
} from '@xmpp/client';
import type { Logger } from '../logger.js';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import {
  actionLabel,
  formatDue,
  type Locale,
  noticeLabel,
  priorityLabel,
  say,
  targetLocale,
} from './message-text.js';

export interface XmppOptions {
  /** `xmpps://host:5223` for direct TLS, or `xmpp://host:5222`, upgraded with STARTTLS when the server offers it. */
  service: string;
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /**
   * Lets the bot log in and chat over a stream without TLS: only for a server on the same machine, as in
   * tests. @xmpp/client takes no TLS options, so a server with a private CA needs NODE_EXTRA_CA_CERTS.
   */
  allowPlaintext?: boolean;
  timeoutMs: number;
  logger?: Logger;
}

/** What a handler asked the bot to do in a chat. */
export type ChatCommand =
  | { kind: 'list' }
  | { kind: 'done'; matterId: string; comment: string | null }
  | { kind: 'transfer'; matterId: string; toHandlerId: string; reason: string }
  | { kind: 'reject'; matterId: string; reason: string }
  | { kind: 'exception'; matterId: string; eventType: string; description: string }
  | { kind: 'ack'; matterId: string };

/** The commands with a usage line, in the order `help` lists them. */
export const CHAT_VERBS = ['list', 'done', 'ack', 'transfer', 'reject', 'exception', 'help'] as const;

/** A chat that is no command, told back to the sender in their language. */
export type ChatProblem =
  | { kind: 'invalid'; problem: 'tooLong'; max: number }
  | { kind: 'invalid'; problem: 'empty' }
  | { kind: 'invalid'; problem: 'unknown'; word: string }
  | { kind: 'invalid'; problem: 'usage'; verb: (typeof CHAT_VERBS)[number] };

export type ParsedCommand = ChatCommand | { kind: 'help' } | ChatProblem;

/** Takes the sender's bare JID and whatever they wrote, read; what it returns is sent back to them. */
export type ChatHandler = (from: string, command: ParsedCommand) => Promise<string>;

export interface XmppChannel extends Channel {
  /** Sets the one handler of inbound chat commands and brings the bot online to receive them. */
  onChat(handler: ChatHandler): void;
  /** Connects now rather than at the first send; resolves once the bot is online. */
  start(): Promise<void>;
  /** Closes the connection for good. */
  stop(): Promise<void>;
}

const RETRY_MS = 5_000;
/**
 * Logging in is a TLS handshake and several SASL round trips with PBKDF2 on both ends: on a busy host it
 * outlasts one request's timeout, and a bot that gives up there never comes online to send.
 */
const LOGIN_TIMEOUT_MS = 15_000;
/** A comment or reason may be 4000 characters (the actions' TEXT_LIMIT); a longer chat is no command. */
const MAX_COMMAND_LENGTH = 4000;

function usage(verb: (typeof CHAT_VERBS)[number]): ParsedCommand {
  return { kind: 'invalid', problem: 'usage', verb };
}

/** Splits off up to `n` words; the rest keeps its own spacing, as it is the sender's free text. */
function words(text: string, n: number): { words: string[]; rest: string } {
  const found: string[] = [];
  let rest = text.trim();
  while (found.length < n && rest !== '') {
    const [whole, word] = /^(\S+)\s*/.exec(rest)!;
    found.push(word!);
    rest = rest.slice(whole.length);
  }
  return { words: found, rest };
}

export function parseChatCommand(text: string): ParsedCommand {
  if (text.length > MAX_COMMAND_LENGTH) {
    return { kind: 'invalid', problem: 'tooLong', max: MAX_COMMAND_LENGTH };
  }
  const {
    words: [word = ''],
    rest,
  } = words(text, 1);
  const verb = word.replace(/^\//, '').toLowerCase();
  switch (verb) {
    case 'help':
      return { kind: 'help' };
    case 'list':
      return rest === '' ? { kind: 'list' } : usage('list');
    case 'ack': {
      const { words: args, rest: extra } = words(rest, 1);
      return args[0] && extra === '' ? { kind: 'ack', matterId: args[0] } : usage('ack');
    }
    case 'done': {
      const { words: args, rest: comment } = words(rest, 1);
      return args[0] ? { kind: 'done', matterId: args[0], comment: comment || null } : usage('done');
    }
    case 'transfer': {
      const { words: args, rest: reason } = words(rest, 2);
      return args[0] && args[1] && reason
        ? { kind: 'transfer', matterId: args[0], toHandlerId: args[1], reason }
        : usage('transfer');
    }
    case 'reject': {
      const { words: args, rest: reason } = words(rest, 1);
      return args[0] && reason ? { kind: 'reject', matterId: args[0], reason } : usage('reject');
    }
    case 'exception': {
      const { words: args, rest: description } = words(rest, 2);
      return args[0] && args[1] && description
        ? { kind: 'exception', matterId: args[0], eventType: args[1], description }
        : usage('exception');
    }
    default:
      return verb === ''
        ? { kind: 'invalid', problem: 'empty' }
        : { kind: 'invalid', problem: 'unknown', word: word.slice(0, 40) };
  }
}

/** The same idempotency key always gives the same stanza id, so a resent notice is recognisably the same. */
export function xmppMessageId(idempotencyKey: string): string {
  return `mf-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}

function noticeText(message: OutboundMessage, locale: Locale): string {
  const m = message.matter;
  const line = (label: string, value: string) => `${label}${say(locale, 'notice.separator')}${value}`;
  return [
    `[matterflow] ${line(noticeLabel(message.type, locale), m.title)}`,
    ...(m.details ? [m.details] : []),
    line(say(locale, 'notice.field.id'), m.id),
    ...(m.dueAt ? [line(say(locale, 'notice.field.due'), formatDue(m.dueAt))] : []),
    line(say(locale, 'notice.field.priority'), priorityLabel(m.priority, locale)),
    ...(m.link ? [line(say(locale, 'notice.openIn', { source: m.source }), m.link)] : []),
    ...message.actions.map((a) => line(actionLabel(a.action, locale), a.url)),
    ...(message.actions.length ? [say(locale, 'notice.chatHint', { id: m.id })] : []),
  ].join('\n');
}

/** A person's bare JID: local@domain. */
function isPersonJid(address: string): boolean {
  return /^[^\s@/]+@[^\s@/]+$/.test(address);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function nextOnline(xmpp: XmppClient, ms: number): Promise<void> {
  let listener = () => {};
  const online = new Promise<void>((resolve) => {
    listener = resolve;
    xmpp.once('online', listener);
  });
  return within(online, ms, 'reconnecting').finally(() => xmpp.removeListener('online', listener));
}

export function xmppChannel(options: XmppOptions): XmppChannel {
  const log = options.logger;
  const self = `${options.username}@${options.domain}`.toLowerCase();
  const loginTimeoutMs = Math.max(options.timeoutMs, LOGIN_TIMEOUT_MS);
  // XEP-0388 asks for one stable id per client, so servers that keep per-client state see one client.
  const userAgent = xml('user-agent', { id: randomUUID() }, xml('software', {}, 'matterflow'));
  let chatHandler: ChatHandler | null = null;
  let connection: Promise<XmppClient> | null = null;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  async function login(
    authenticate: Authenticate,
    mechanisms: string[],
    _fast: unknown,
    entity: { isSecure(): boolean },
  ): Promise<void> {
    const secure = entity.isSecure();
    if (!secure && !options.allowPlaintext) {
      throw new Error('the server offered no TLS; refusing to log in over a plain stream');
    }
    const mechanism = mechanisms.find((m) => secure || m !== 'PLAIN');
    if (!mechanism) throw new Error(`only PLAIN offered, which a plain stream would give away`);
    await authenticate({ username: options.username, password: options.password }, mechanism, userAgent);
  }

  function createClient(): XmppClient {
    const xmpp = client({
      service: options.service,
      domain: options.domain,
      ...(options.resource ? { resource: options.resource } : {}),
      timeout: loginTimeoutMs,
      credentials: login,
    });
    // Without a listener an error event would throw; @xmpp/reconnect recovers from connection errors.
    xmpp.on('error', (err) => log?.warn({ err }, 'xmpp connection error'));
    // Available presence on every (re)connection, or the server keeps chats to the bot's bare JID from it.
    xmpp.on('online', () => {
      xmpp.send(xml('presence')).catch((err: Error) => log?.warn({ err }, 'xmpp presence failed'));
    });
    xmpp.on('stanza', (stanza) => {
      void answer(xmpp, stanza);
    });
    return xmpp;
  }

  async function discard(xmpp: XmppClient): Promise<void> {
    xmpp.reconnect.stop();
    await xmpp.stop().catch(() => undefined);
  }

  async function open(): Promise<XmppClient> {
    const xmpp = createClient();
    try {
      await within(xmpp.start(), loginTimeoutMs, 'connecting');
      return xmpp;
    } catch (err) {
      connection = null;
      await discard(xmpp);
      log?.warn({ err }, 'xmpp connection failed');
      if (chatHandler && !stopped) {
        retry = setTimeout(() => connect().catch(() => undefined), RETRY_MS);
        retry.unref();
      }
      throw err;
    }
  }

  function connect(): Promise<XmppClient> {
    if (stopped) return Promise.reject(new Error('the xmpp channel is stopped'));
    connection ??= open();
    return connection;
  }

  async function online(): Promise<XmppClient> {
    const xmpp = await connect();
    if (xmpp.status !== 'online') await nextOnline(xmpp, options.timeoutMs);
    return xmpp;
  }

  async function reply(xmpp: XmppClient, stanza: XmlElement, to: string, text: string): Promise<void> {
    const thread = stanza.getChildText('thread');
    const children = [xml('body', {}, text), ...(thread ? [xml('thread', {}, thread)] : [])];
    try {
      await xmpp.send(xml('message', { type: 'chat', to }, ...children));
    } catch (err) {
      log?.warn({ err, to }, 'xmpp reply failed');
    }
  }

  async function answer(xmpp: XmppClient, stanza: XmlElement): Promise<void> {
    const handler = chatHandler;
    if (!handler || !stanza.is('message')) return;
    const type = stanza.attrs.type ?? 'normal';
    const body = stanza.getChildText('body');
    const from = stanza.attrs.from;
    if ((type !== 'chat' && type !== 'normal') || body === null || !from) return;
    const sender = jid(from).bare().toString();
    if (sender === self) return;
    const command = parseChatCommand(body);
    let text: string;
    try {
      text = await handler(sender, command);
    } catch (err) {
      log?.error({ err, from: sender, command: command.kind }, 'xmpp chat command failed');
      text = 'Sorry, that did not work. Please try again later.';
    }
    return reply(xmpp, stanza, from, text);
  }

  return {
    type: 'xmpp',
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      if (!isPersonJid(target.address)) {
        return { ok: false, error: `not a bare JID: ${target.address}`, retryable: false };
      }
      const id = xmppMessageId(message.idempotencyKey);
      const stanza = xml(
        'message',
        { type: 'chat', to: target.address, id },
        xml('body', {}, noticeText(message, targetLocale(target))),
        // XEP-0359: the id survives servers that rewrite the stanza id, so a resend stays recognisable.
        xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id }),
      );
      try {
        const xmpp = await online();
        await within(xmpp.send(stanza), options.timeoutMs, 'sending');
        return { ok: true, retryable: false, ref: { messageId: id } };
      } catch (err) {
        return { ok: false, error: `xmpp send failed: ${(err as Error).message}`, retryable: true };
      }
    },
    onChat(handler: ChatHandler): void {
      chatHandler = handler;
      connect().catch(() => undefined);
    },
    async start(): Promise<void> {
      await online();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(retry);
      const current = connection;
      connection = null;
      const xmpp = await current?.catch(() => null);
      if (xmpp) await discard(xmpp);
    },
    // A sent chat message stays as it is (XEP-0308 corrections are shown unevenly), so there is no update.
  };
}
