import { client, xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelTarget, OutboundMessage } from '../../src/channels/channel.js';
import {
  CHAT_USAGE,
  type ChatCommand,
  type XmppChannel,
  xmppChannel,
  xmppMessageId,
} from '../../src/channels/xmpp.js';
import { outboundMessage } from '../support/outbound-message.js';
import { type Prosody, startProsody } from '../support/prosody.js';

const BOT = { username: 'matterflow', password: 'bot-secret' };
const ADA = { username: 'ada', password: 'ada-secret' };

interface Chat {
  from: string;
  id: string | undefined;
  body: string;
}

/** A handler's own chat client, logged in as a person would be, that keeps every chat it receives. */
class Person {
  readonly inbox: Chat[] = [];
  private readonly xmpp: any;

  constructor(prosody: Prosody, account: { username: string; password: string }) {
    this.xmpp = client({
      service: prosody.service,
      domain: prosody.domain,
      resource: 'phone',
      username: account.username,
      password: account.password,
    });
    this.xmpp.on('error', () => undefined);
    this.xmpp.on('stanza', (stanza: any) => {
      const body = stanza.is('message') ? stanza.getChildText('body') : null;
      if (body !== null) this.inbox.push({ from: stanza.attrs.from, id: stanza.attrs.id, body });
    });
  }

  /** Resolves once the server has taken the presence, so chats to the bare JID are routed here. */
  async start(): Promise<this> {
    const address = await this.xmpp.start();
    const available = new Promise<void>((resolve) => {
      const echo = (stanza: any) => {
        if (!stanza.is('presence') || stanza.attrs.from !== address.toString()) return;
        this.xmpp.removeListener('stanza', echo);
        resolve();
      };
      this.xmpp.on('stanza', echo);
    });
    await this.xmpp.send(xml('presence'));
    await available;
    return this;
  }

  async say(to: string, text: string): Promise<void> {
    await this.xmpp.send(xml('message', { type: 'chat', to }, xml('body', {}, text)));
  }

  async waitFor(predicate: (chat: Chat) => boolean, what: string, timeoutMs = 10_000): Promise<Chat> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.inbox.find(predicate);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got: ${JSON.stringify(this.inbox)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await this.xmpp.stop();
  }
}

function notice(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return outboundMessage({
    matter: {
      id: 'm-1',
      title: 'Approve invoice 42 <urgent> & soon',
      details: 'Vendor ACME, 1 200 €',
      link: 'https://erp.example.test/invoices/42',
      dueAt: '2030-01-02T09:30:00.000Z',
    },
    actions: ['complete', 'transfer'].map((action) => ({
      action,
      url: `https://mf.example.test/a?token=abc&action=${action}`,
    })),
    idempotencyKey: 'notice:m-1:reminder:1',
    ...overrides,
  });
}

describe('xmpp channel', () => {
  let prosody: Prosody;
  let channel: XmppChannel;
  let ada: Person;
  const commands: { from: string; command: ChatCommand }[] = [];

  beforeAll(async () => {
    prosody = await startProsody([BOT, ADA]);
    channel = xmppChannel({
      service: prosody.service,
      domain: prosody.domain,
      username: BOT.username,
      password: BOT.password,
      resource: 'bot',
      allowPlaintext: true,
      timeoutMs: 5_000,
    });
    channel.onChat(async (from, command) => {
      commands.push({ from, command });
      return command.kind === 'done' ? `Marked ${command.matterId} done: ${command.comment}` : 'ok';
    });
    await channel.start();
    ada = await new Person(prosody, ADA).start();
  });

  afterAll(async () => {
    await ada?.stop();
    await channel?.stop();
    await prosody?.stop();
  });

  it('sends the handler a chat with the matter, its due time and the action links', async () => {
    const target: ChannelTarget = { type: 'xmpp', address: prosody.jid(ADA.username), settings: {} };
    const sent = notice();

    const result = await channel.send(target, sent);

    const id = xmppMessageId(sent.idempotencyKey);
    expect(result).toEqual({ ok: true, retryable: false, ref: { messageId: id } });
    const chat = await ada.waitFor((c) => c.id === id, 'the reminder');
    expect(chat.from).toBe(`${prosody.jid(BOT.username)}/bot`);
    expect(chat.body).toBe(
      [
        '[matterflow] Reminder: Approve invoice 42 <urgent> & soon',
        'Vendor ACME, 1 200 €',
        'ID: m-1',
        'Due: 2030-01-02 09:30 UTC',
        'Priority: high',
        'Open in erp: https://erp.example.test/invoices/42',
        'Complete: https://mf.example.test/a?token=abc&action=complete',
        'Transfer: https://mf.example.test/a?token=abc&action=transfer',
        'Or reply "done m-1 [comment]"; "help" lists all commands.',
      ].join('\n'),
    );
  });

  it('passes a chat command to the handler and replies with what it returned', async () => {
    await ada.say(prosody.jid(BOT.username), 'done m-1 all good');

    const reply = await ada.waitFor((c) => c.body.startsWith('Marked'), 'the reply');
    expect(reply.body).toBe('Marked m-1 done: all good');
    expect(commands).toContainEqual({
      from: prosody.jid(ADA.username),
      command: { kind: 'done', matterId: 'm-1', comment: 'all good' },
    });
  });

  it('answers an unknown command with the usage text without calling the handler', async () => {
    const before = commands.length;

    await ada.say(prosody.jid(BOT.username), 'finish m-1');

    const reply = await ada.waitFor((c) => c.body.startsWith('Unknown command'), 'the usage text');
    expect(reply.body).toBe(`Unknown command "finish".\n${CHAT_USAGE}`);
    expect(commands).toHaveLength(before);
  });

  it('refuses an address that is not a bare JID, for good', async () => {
    const result = await channel.send({ type: 'xmpp', address: 'ada at example', settings: {} }, notice());

    expect(result).toMatchObject({ ok: false, retryable: false });
  });

  it('will not log in over a stream without TLS unless told to', async () => {
    const strict = xmppChannel({
      service: prosody.service,
      domain: prosody.domain,
      username: BOT.username,
      password: BOT.password,
      timeoutMs: 5_000,
    });
    try {
      const target: ChannelTarget = { type: 'xmpp', address: prosody.jid(ADA.username), settings: {} };
      const result = await strict.send(target, notice({ idempotencyKey: 'notice:m-1:reminder:plain' }));

      expect(result.ok).toBe(false);
      expect(result.error).toContain('no TLS');
    } finally {
      await strict.stop();
    }
  });
});

describe('xmpp channel when the server goes away', () => {
  it('reports a send while the server is down as retryable and delivers again once it is back', async () => {
    let prosody = await startProsody([BOT, ADA]);
    const channel = xmppChannel({
      service: prosody.service,
      domain: prosody.domain,
      username: BOT.username,
      password: BOT.password,
      allowPlaintext: true,
      timeoutMs: 3_000,
    });
    let ada: Person | undefined;
    try {
      const target: ChannelTarget = { type: 'xmpp', address: prosody.jid(ADA.username), settings: {} };
      expect((await channel.send(target, notice({ idempotencyKey: 'before' }))).ok).toBe(true);

      await prosody.stop();
      // A send racing the client's notice of the closed stream is only written into a dead socket.
      let deadline = Date.now() + 10_000;
      let down = await channel.send(target, notice({ idempotencyKey: 'during' }));
      while (down.ok && Date.now() < deadline) {
        down = await channel.send(target, notice({ idempotencyKey: 'during' }));
      }
      expect(down).toMatchObject({ ok: false, retryable: true });

      prosody = await startProsody([BOT, ADA], { port: prosody.port });
      ada = await new Person(prosody, ADA).start();
      deadline = Date.now() + 20_000;
      let again = await channel.send(target, notice({ idempotencyKey: 'after' }));
      while (!again.ok && Date.now() < deadline) {
        again = await channel.send(target, notice({ idempotencyKey: 'after' }));
      }
      expect(again).toMatchObject({ ok: true });
      await ada.waitFor((c) => c.id === xmppMessageId('after'), 'the notice sent after the restart');
    } finally {
      await ada?.stop();
      await channel.stop();
      await prosody.stop();
    }
  });
});
