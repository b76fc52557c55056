import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelTarget, OutboundMessage } from '../../src/channels/channel.js';
import { emailChannel, emailMessageId } from '../../src/channels/email.js';
import { freePort } from '../../src/runtime/free-port.js';
import { outboundMessage } from '../support/outbound-message.js';
import { decodeWords, parseMail, partOf, SmtpReceiver } from '../support/smtp-receiver.js';

const FROM = '"Matterflow" <matterflow@example.test>';

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return outboundMessage({
    matter: {
      id: 'm-1',
      title: 'Approve invoice <script>alert("x")</script> & co',
      details: 'Amount: 1 200 € <b>net</b>\nVendor: "ACME"',
      link: 'https://erp.example.test/invoices/42?tab=lines&mode=view',
      dueAt: '2030-01-02T09:30:00.000Z',
    },
    actions: ['complete', 'transfer', 'exception'].map((action) => ({
      action,
      url: `https://mf.example.test/a?token=abc&action=${action}`,
    })),
    idempotencyKey: 'notice:m-1:reminder:3',
    ...overrides,
  });
}

const target: ChannelTarget = { type: 'email', address: 'ada@example.test', settings: {} };

describe('email channel', () => {
  let smtp: SmtpReceiver;

  beforeAll(async () => {
    smtp = await new SmtpReceiver().start();
  });
  afterAll(async () => {
    await smtp.stop();
  });
  beforeEach(() => {
    smtp.received.length = 0;
    smtp.refuse = null;
  });

  function channel() {
    return emailChannel({ host: '127.0.0.1', port: smtp.port, secure: false, from: FROM, timeoutMs: 5_000 });
  }

  it('sends a text and an HTML part with the action links', async () => {
    const sent = message();
    const result = await channel().send(target, sent);

    const messageId = emailMessageId(sent.idempotencyKey, FROM);
    expect(result).toEqual({ ok: true, retryable: false, ref: { messageId } });
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.from).toBe('matterflow@example.test');
    expect(mail.to).toEqual(['ada@example.test']);

    const { headers, parts } = parseMail(mail.raw);
    expect(headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(decodeWords(headers.get('subject')!)).toBe(
      '[matterflow] Reminder: Approve invoice <script>alert("x")</script> & co',
    );
    expect(headers.get('message-id')).toBe(messageId);
    expect(headers.get('x-matterflow-idempotency-key')).toBe('notice:m-1:reminder:3');

    const text = partOf(parts, 'text/plain');
    expect(text).toContain('Reminder: Approve invoice <script>alert("x")</script> & co');
    expect(text).toContain('Amount: 1 200 € <b>net</b>\nVendor: "ACME"');
    expect(text).toContain('Due: 2030-01-02 09:30 UTC');
    expect(text).toContain('Priority: High');
    expect(text).toContain('Open in erp: https://erp.example.test/invoices/42?tab=lines&mode=view');
    expect(text).toContain('Complete: https://mf.example.test/a?token=abc&action=complete');
    expect(text).toContain('Transfer: https://mf.example.test/a?token=abc&action=transfer');
    expect(text).toContain('Report exception: https://mf.example.test/a?token=abc&action=exception');

    const html = partOf(parts, 'text/html');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>net</b>');
    expect(html).toContain('Approve invoice &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co');
    expect(html).toContain('&lt;b&gt;net&lt;/b&gt;');
    expect(html).toContain('2030-01-02 09:30 UTC');
    expect(html).toContain('href="https://erp.example.test/invoices/42?tab=lines&amp;mode=view"');
    for (const [action, label] of [
      ['complete', 'Complete'],
      ['transfer', 'Transfer'],
      ['exception', 'Report exception'],
    ]) {
      expect(html).toMatch(
        new RegExp(
          `<a href="https://mf\\.example\\.test/a\\?token=abc&amp;action=${action}" style="[^"]+">${label}</a>`,
        ),
      );
    }
  });

  it('gives a resent notice the same Message-ID and a different notice another', async () => {
    const first = await channel().send(target, message());
    const again = await channel().send(target, message());
    const other = await channel().send(target, message({ idempotencyKey: 'notice:m-1:reminder:4' }));

    expect(again.ref).toEqual(first.ref);
    expect(other.ref?.messageId).not.toBe(first.ref?.messageId);
    const hash = createHash('sha256').update('notice:m-1:reminder:3').digest('hex').slice(0, 32);
    expect(first.ref?.messageId).toBe(`<${hash}@example.test>`);
    const ids = smtp.received.map((m) => parseMail(m.raw).headers.get('message-id'));
    expect(ids).toEqual([first.ref?.messageId, first.ref?.messageId, other.ref?.messageId]);
  });

  it('writes Chinese labels for a zh-CN target', async () => {
    const result = await channel().send({ ...target, settings: { locale: 'zh-CN' } }, message());

    expect(result.ok).toBe(true);
    const { headers, parts } = parseMail(smtp.received[0]!.raw);
    expect(decodeWords(headers.get('subject')!)).toBe(
      '[matterflow] 提醒：Approve invoice <script>alert("x")</script> & co',
    );
    const text = partOf(parts, 'text/plain');
    expect(text).toContain('截止时间：2030-01-02 09:30 UTC');
    expect(text).toContain('优先级：高');
    expect(text).toContain('完成：https://mf.example.test/a?token=abc&action=complete');
    expect(partOf(parts, 'text/html')).toContain('<html lang="zh-CN">');
  });

  it('shows a source link that is not a web address as text, not as a link', async () => {
    const sent = message();
    await channel().send(target, { ...sent, matter: { ...sent.matter, link: 'javascript:alert(1)' } });

    const html = partOf(parseMail(smtp.received[0]!.raw).parts, 'text/html');
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('Open in erp: javascript:alert(1)');
  });

  it('shows an exception filing with what the filer wrote and its attachments as links, escaped', async () => {
    await channel().send(
      target,
      message({
        type: 'exception.filed',
        actions: [],
        data: {
          eventType: 'DATA_MISMATCH',
          description: 'Payee <b>differs</b> from the contract',
          attachments: [
            { name: 'Contract scan', url: 'https://dms.example.test/doc/77?v=2&x=1' },
            { name: 'Not a web link', url: 'file:///etc/passwd' },
          ],
        },
      }),
    );

    const { parts } = parseMail(smtp.received[0]!.raw);
    const text = partOf(parts, 'text/plain');
    expect(text).toContain('Note: Payee <b>differs</b> from the contract');
    expect(text).toContain('- Contract scan: https://dms.example.test/doc/77?v=2&x=1');
    const html = partOf(parts, 'text/html');
    expect(html).toContain('Payee &lt;b&gt;differs&lt;/b&gt; from the contract');
    expect(html).toContain('<a href="https://dms.example.test/doc/77?v=2&amp;x=1">Contract scan</a>');
    expect(html).not.toContain('file:///etc/passwd');
    expect(text).not.toContain('file:///etc/passwd');
  });

  it('reports a permanent refusal (550) as not worth retrying', async () => {
    smtp.refuse = { code: 550, text: 'No such user here' };

    const result = await channel().send(target, message());

    expect(result.ok).toBe(false);
    expect(result.retryable).toBe(false);
    expect(result.error).toContain('550');
    expect(smtp.received).toHaveLength(0);
  });

  it('reports a temporary refusal (451) as worth retrying', async () => {
    smtp.refuse = { code: 451, text: 'Try again later' };

    const result = await channel().send(target, message());

    expect(result.ok).toBe(false);
    expect(result.retryable).toBe(true);
    expect(result.error).toContain('451');
  });

  it('reports a refused connection as worth retrying', async () => {
    const closed = await freePort();
    const unreachable = emailChannel({
      host: '127.0.0.1',
      port: closed,
      secure: false,
      from: FROM,
      timeoutMs: 5_000,
    });

    const result = await unreachable.send(target, message());

    expect(result.ok).toBe(false);
    expect(result.retryable).toBe(true);
    expect(result.error).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
  });
});
