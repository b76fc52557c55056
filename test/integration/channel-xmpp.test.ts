import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatProblemText } from '../../src/api/chat-commands.js';
import type { ChannelTarget, OutboundMessage } from '../../src/channels/channel.js';
import { type ParsedCommand, type XmppChannel, xmppChannel, xmppMessageId } from '../../src/channels/xmpp.js';
import { outboundMessage } from '../support/outbound-message.js';
import { type Prosody, startProsody } from '../support/prosody.js';
import { Person } from '../support/xmpp-person.js';

const BOT = { username: 'matterflow', password: 'bot-secret' };
const ADA = { username: 'ada', password: 'ada-secret' };

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
  const commands: { from: string; command: ParsedCommand }[] = [];

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
      if (command.kind === 'invalid') return chatProblemText(command, 'en');
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

  it('sends an en handler a chat in English with the matter, its due time and the action links', async () => {
    const target: ChannelTarget = {
      type: 'xmpp',
      address: prosody.jid(ADA.username),
      settings: { locale: 'en' },
    };
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

  it('writes Chinese labels for a zh-CN handler, and keeps the command to type as it is', async () => {
    const target: ChannelTarget = {
      type: 'xmpp',
      address: prosody.jid(ADA.username),
      settings: { locale: 'zh-CN' },
    };
    const sent = notice({ idempotencyKey: 'notice:m-1:reminder:zh' });

    expect((await channel.send(target, sent)).ok).toBe(true);

    const chat = await ada.waitFor((c) => c.id === xmppMessageId(sent.idempotencyKey), 'the reminder');
    expect(chat.body).toBe(
      [
        '[matterflow] 提醒：Approve invoice 42 <urgent> & soon',
        'Vendor ACME, 1 200 €',
        '编号：m-1',
        '截止时间：2030-01-02 09:30 UTC',
        '优先级：高',
        '在 erp 中打开：https://erp.example.test/invoices/42',
        '完成：https://mf.example.test/a?token=abc&action=complete',
        '转办：https://mf.example.test/a?token=abc&action=transfer',
        '或回复 "done m-1 [备注]"；发送 "help" 查看全部命令。',
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

  it('passes a chat that is no command to the handler as what is wrong with it, for the answer in the sender’s language', async () => {
    await ada.say(prosody.jid(BOT.username), 'finish m-1');

    const reply = await ada.waitFor((c) => c.body.startsWith('Unknown command'), 'the usage text');
    expect(reply.body).toBe(chatProblemText({ kind: 'invalid', problem: 'unknown', word: 'finish' }, 'en'));
    expect(commands).toContainEqual({
      from: prosody.jid(ADA.username),
      command: { kind: 'invalid', problem: 'unknown', word: 'finish' },
    });
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
