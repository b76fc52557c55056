import { createHash } from 'node:crypto';
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelTarget, OutboundMessage } from '../../src/channels/channel.js';
import { emailChannel, emailMessageId } from '../../src/channels/email.js';
import { freePort } from '../../src/runtime/free-port.js';
import { outboundMessage } from '../support/outbound-message.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback that keeps what it is given, or refuses recipients with `refuse`. */
class SmtpReceiver {
  readonly received: Received[] = [];
  refuse: { code: number; text: string } | null = null;
  port = 0;
  private readonly server = new SMTPServer({
    authOptional: true,
    // Plain SMTP, so the client's opportunistic STARTTLS does not meet the server's self-signed certificate.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo: (_address, _session, callback) => {
      if (!this.refuse) return callback();
      const err: SMTPServerError = new Error(this.refuse.text);
      err.responseCode = this.refuse.code;
      callback(err);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        this.received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers.set(line.slice(0, at).toLowerCase(), line.slice(at + 1).trim());
  }
  return headers;
}

function decodeBody(body: string, encoding: string | undefined): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => `%${hex}`)
      .replace(/%(?![0-9A-F]{2})/g, '%25');
    return decodeURIComponent(bytes);
  }
  return body;
}

/** RFC 2047 encoded words, as nodemailer writes a subject that is not plain ASCII. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeBody(text.replace(/_/g, ' '), 'quoted-printable'),
    );
}

function parseMail(raw: string): { headers: Map<string, string>; parts: Part[] } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error(`not a multipart message:\n${raw}`);
  const parts = raw
    .slice(split + 4)
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const text = chunk.replace(/^\r\n/, '');
      const end = text.indexOf('\r\n\r\n');
      const partHeaders = parseHeaders(text.slice(0, end));
      return {
        headers: partHeaders,
        body: decodeBody(
          text.slice(end + 4).replace(/\r\n$/, ''),
          partHeaders.get('content-transfer-encoding'),
        ),
      };
    });
  return { headers, parts };
}

function partOf(parts: Part[], type: string): string {
  const part = parts.find((p) => p.headers.get('content-type')?.startsWith(type));
  if (!part) throw new Error(`no ${type} part`);
  return part.body.replace(/\r\n/g, '\n');
}

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
