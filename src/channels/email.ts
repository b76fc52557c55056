import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';
import { createTransport, type NodemailerError } from 'nodemailer';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import {
  actionLabel,
  attachmentLinks,
  formatDue,
  type Locale,
  noticeLabel,
  oneLine,
  priorityLabel,
  say,
  targetLocale,
} from './message-text.js';

export interface EmailOptions {
  host: string;
  port: number;
  /** True for implicit TLS (usually port 465); false lets the server offer STARTTLS. */
  secure: boolean;
  auth?: { user: string; pass: string };
  /** The sender, e.g. `"Matterflow" <matterflow@example.com>`; its domain also names the Message-IDs. */
  from: string;
  timeoutMs: number;
}

/** Errors without an SMTP reply that another attempt would meet again: a bad address or configuration. */
const PERMANENT_CODES = new Set(['EENVELOPE', 'ECONFIG', 'ENOAUTH']);

/** The same idempotency key always gives the same Message-ID, so a resent notice is recognisably the same mail. */
export function emailMessageId(idempotencyKey: string, from: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
  return `<${hash}@${senderDomain(from)}>`;
}

function senderDomain(from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1];
  return domain ?? 'matterflow.invalid';
}

/** Only web links become clickable: a source system's `javascript:` link must stay inert text. */
function isWebLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

interface Rendered {
  subject: string;
  text: string;
  html: string;
}

function renderEmail(message: OutboundMessage, locale: Locale): Rendered {
  const m = message.matter;
  const separator = say(locale, 'notice.separator');
  const openIn = say(locale, 'notice.openIn', { source: m.source });
  const event = noticeLabel(message.type, locale);
  const priority = priorityLabel(m.priority, locale);
  const actions = message.actions.map((a) => ({ label: actionLabel(a.action, locale), url: a.url }));
  const facts: [string, string][] = [];
  if (m.dueAt) facts.push([say(locale, 'notice.field.due'), formatDue(m.dueAt)]);
  // E-mail has always written the priority capitalised (High); the chat channels show it as sent.
  facts.push([say(locale, 'notice.field.priority'), priority.charAt(0).toUpperCase() + priority.slice(1)]);
  facts.push([say(locale, 'notice.field.source'), m.source]);
  const noteLabel = say(locale, 'notice.field.note');
  const attachmentsLabel = say(locale, 'notice.field.attachments');
  const said = message.data.description ?? message.data.reason;
  const note = typeof said === 'string' && said !== '' ? said : null;
  const attachments = attachmentLinks(message);

  const text = [
    `${event}${separator}${m.title}`,
    ...(m.details ? ['', m.details] : []),
    '',
    ...facts.map(([k, v]) => `${k}${separator}${v}`),
    ...(m.link ? [`${openIn}${separator}${m.link}`] : []),
    ...(note ? ['', `${noteLabel}${separator}${note}`] : []),
    ...(attachments.length
      ? ['', `${attachmentsLabel}:`, ...attachments.map((a) => `- ${a.name}: ${a.url}`)]
      : []),
    ...(actions.length ? ['', ...actions.map((a) => `${a.label}${separator}${a.url}`)] : []),
    '',
  ].join('\n');

  const link = m.link
    ? isWebLink(m.link)
      ? `<p><a href="${escapeHtml(m.link)}">${escapeHtml(openIn)}</a></p>`
      : `<p>${escapeHtml(openIn)}${escapeHtml(separator)}${escapeHtml(m.link)}</p>`
    : '';
  const buttons = actions
    .map(
      (a) =>
        `<a href="${escapeHtml(a.url)}" style="display:inline-block;margin:0 8px 8px 0;padding:10px 18px;` +
        `border-radius:4px;background:#1f6feb;color:#ffffff;text-decoration:none;font-weight:600">` +
        `${escapeHtml(a.label)}</a>`,
    )
    .join('');
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${locale}"><head><meta charset="utf-8"><title>${escapeHtml(m.title)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5">',
    `<p style="color:#59636e;margin:0">${escapeHtml(event)}</p>`,
    `<h2 style="margin:4px 0 12px">${escapeHtml(m.title)}</h2>`,
    m.details ? `<p style="white-space:pre-wrap">${escapeHtml(m.details)}</p>` : '',
    '<table style="border-collapse:collapse;margin:8px 0">',
    ...facts.map(
      ([k, v]) =>
        `<tr><td style="padding:2px 12px 2px 0;color:#59636e">${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`,
    ),
    '</table>',
    link,
    note
      ? `<p><strong>${escapeHtml(noteLabel)}</strong>${escapeHtml(separator)}<span style="white-space:pre-wrap">${escapeHtml(note)}</span></p>`
      : '',
    attachments.length
      ? `<p><strong>${escapeHtml(attachmentsLabel)}</strong></p><ul>${attachments
          .map((a) => `<li><a href="${escapeHtml(a.url)}">${escapeHtml(a.name)}</a></li>`)
          .join('')}</ul>`
      : '',
    buttons ? `<p style="margin-top:16px">${buttons}</p>` : '',
    '</body></html>',
  ]
    .filter((line) => line !== '')
    .join('\n');

  return { subject: `[matterflow] ${event}${separator}${oneLine(m.title)}`, text, html };
}

function mailPriority(priority: string): 'high' | 'normal' | 'low' {
  if (priority === 'urgent' || priority === 'high') return 'high';
  return priority === 'low' ? 'low' : 'normal';
}

function failure(err: NodemailerError): DeliveryResult {
  if (err.responseCode) {
    return {
      ok: false,
      error: `smtp server answered ${err.response ?? err.responseCode}`,
      // Nodemailer's reading of the reply class: 5xx is final, except 503 (a bad session, not a bad message).
      retryable: err.permanent !== true,
    };
  }
  return {
    ok: false,
    error: `smtp send failed (${err.code ?? 'unknown'}): ${err.message}`,
    retryable: !PERMANENT_CODES.has(err.code ?? ''),
  };
}

export function emailChannel(options: EmailOptions): Channel {
  const transport = createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    ...(options.auth ? { auth: options.auth } : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  return {
    type: 'email',
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const { subject, text, html } = renderEmail(message, targetLocale(target));
      const messageId = emailMessageId(message.idempotencyKey, options.from);
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: target.address,
          subject,
          text,
          html,
          messageId,
          priority: mailPriority(message.matter.priority),
          headers: { 'X-Matterflow-Idempotency-Key': message.idempotencyKey },
        });
        return { ok: true, retryable: false, ref: { messageId: info.messageId || messageId } };
      } catch (err) {
        return failure(err as NodemailerError);
      }
    },
    // A sent e-mail cannot be changed, so there is no update.
  };
}
