import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';
import { createTransport, type NodemailerError } from 'nodemailer';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import { attachmentLinks, formatDue, oneLine } from './message-text.js';

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

export type EmailLocale = 'zh-CN' | 'en';

interface Labels {
  events: Record<OutboundMessage['type'], string>;
  actions: Record<string, string>;
  priorities: Record<string, string>;
  due: string;
  priority: string;
  source: string;
  openIn: (source: string) => string;
  separator: string;
  /** What the actor wrote: a filing's description, a transfer's reason. */
  note: string;
  attachments: string;
}

const LABELS: Record<EmailLocale, Labels> = {
  en: {
    events: {
      'matter.assigned': 'New matter',
      'matter.reminder': 'Reminder',
      'matter.escalated': 'Escalated',
      'matter.transferred': 'Transferred',
      'matter.completed': 'Completed',
      'exception.filed': 'Exception filed',
      'matter.modified': 'Changed',
      'matter.cancelled': 'Cancelled',
      'change.scheduled': 'Change scheduled',
      'change.failed': 'Change failed',
      'change.approved': 'Change approved',
      'change.rejected': 'Change rejected',
      'matter.claimed': 'Claimed',
      'matter.released': 'Released',
      'matter.acknowledged': 'Acknowledged',
      'transfer.rejected': 'Transfer rejected',
      'matter.transfer-alert': 'Transferred too often',
      'exception.acknowledged': 'Exception acknowledged',
      'exception.closed': 'Exception closed',
      'matter.returned': 'Returned to its source',
      'reminder.digest': 'Reminder digest',
    },
    actions: { complete: 'Complete', transfer: 'Transfer', exception: 'Report exception' },
    priorities: { low: 'Low', normal: 'Normal', high: 'High', urgent: 'Urgent' },
    due: 'Due',
    priority: 'Priority',
    source: 'Source',
    openIn: (source) => `Open in ${source}`,
    separator: ': ',
    note: 'Note',
    attachments: 'Attachments',
  },
  'zh-CN': {
    events: {
      'matter.assigned': '新事项',
      'matter.reminder': '提醒',
      'matter.escalated': '已升级',
      'matter.transferred': '已转办',
      'matter.completed': '已完成',
      'exception.filed': '异常已上报',
      'matter.modified': '已修改',
      'matter.cancelled': '已撤销',
      'change.scheduled': '变更已排期',
      'change.failed': '变更失败',
      'change.approved': '变更已批准',
      'change.rejected': '变更已驳回',
      'matter.claimed': '已认领',
      'exception.acknowledged': '异常已受理',
      'exception.closed': '异常已关闭',
      'matter.returned': '已退回来源系统',
      'matter.released': '已释放',
      'matter.acknowledged': '已确认',
      'transfer.rejected': '转办被退回',
      'matter.transfer-alert': '转办次数过多',
      'reminder.digest': '提醒汇总',
    },
    actions: { complete: '完成', transfer: '转办', exception: '上报异常' },
    priorities: { low: '低', normal: '普通', high: '高', urgent: '紧急' },
    due: '截止时间',
    priority: '优先级',
    source: '来源',
    openIn: (source) => `在 ${source} 中打开`,
    separator: '：',
    note: '说明',
    attachments: '附件',
  },
};

/** Errors without an SMTP reply that another attempt would meet again: a bad address or configuration. */
const PERMANENT_CODES = new Set(['EENVELOPE', 'ECONFIG', 'ENOAUTH']);

function emailLocale(target: ChannelTarget): EmailLocale {
  return target.settings.locale === 'zh-CN' ? 'zh-CN' : 'en';
}

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

function renderEmail(message: OutboundMessage, locale: EmailLocale): Rendered {
  const l = LABELS[locale];
  const m = message.matter;
  const event = l.events[message.type] ?? message.type;
  const priority = l.priorities[m.priority] ?? m.priority;
  const actions = message.actions.map((a) => ({ label: l.actions[a.action] ?? a.action, url: a.url }));
  const facts: [string, string][] = [];
  if (m.dueAt) facts.push([l.due, formatDue(m.dueAt)]);
  facts.push([l.priority, priority]);
  facts.push([l.source, m.source]);
  const said = message.data.description ?? message.data.reason;
  const note = typeof said === 'string' && said !== '' ? said : null;
  const attachments = attachmentLinks(message);

  const text = [
    `${event}${l.separator}${m.title}`,
    ...(m.details ? ['', m.details] : []),
    '',
    ...facts.map(([k, v]) => `${k}${l.separator}${v}`),
    ...(m.link ? [`${l.openIn(m.source)}${l.separator}${m.link}`] : []),
    ...(note ? ['', `${l.note}${l.separator}${note}`] : []),
    ...(attachments.length
      ? ['', `${l.attachments}:`, ...attachments.map((a) => `- ${a.name}: ${a.url}`)]
      : []),
    ...(actions.length ? ['', ...actions.map((a) => `${a.label}${l.separator}${a.url}`)] : []),
    '',
  ].join('\n');

  const link = m.link
    ? isWebLink(m.link)
      ? `<p><a href="${escapeHtml(m.link)}">${escapeHtml(l.openIn(m.source))}</a></p>`
      : `<p>${escapeHtml(l.openIn(m.source))}${escapeHtml(l.separator)}${escapeHtml(m.link)}</p>`
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
      ? `<p><strong>${escapeHtml(l.note)}</strong>${escapeHtml(l.separator)}<span style="white-space:pre-wrap">${escapeHtml(note)}</span></p>`
      : '',
    attachments.length
      ? `<p><strong>${escapeHtml(l.attachments)}</strong></p><ul>${attachments
          .map((a) => `<li><a href="${escapeHtml(a.url)}">${escapeHtml(a.name)}</a></li>`)
          .join('')}</ul>`
      : '',
    buttons ? `<p style="margin-top:16px">${buttons}</p>` : '',
    '</body></html>',
  ]
    .filter((line) => line !== '')
    .join('\n');

  return { subject: `[matterflow] ${event}${l.separator}${oneLine(m.title)}`, text, html };
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
      const { subject, text, html } = renderEmail(message, emailLocale(target));
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
