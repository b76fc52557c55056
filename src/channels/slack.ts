import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import {
  formatDue,
  headline,
  type Locale,
  linkButtons,
  outcomeFacts,
  priorityLabel,
  say,
  targetLocale,
} from './message-text.js';
import { delivered, exchange, failed, type VendorReply } from './vendor-http.js';

export interface SlackOptions {
  /** https://slack.com/api */
  baseUrl: string;
  /** A bot token (xoxb-) with chat:write. */
  botToken: string;
  timeoutMs: number;
}

type Block = Record<string, unknown>;

/** Slack errors that a later attempt can get past; every other `error` is about the request or the app. */
const TRANSIENT_ERRORS = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/** Retry-After waits up to this long are sat out here; longer ones are left to the activity's backoff. */
const MAX_INLINE_WAIT_MS = 5_000;

/** Slack parses `&`, `<` and `>` as control characters in text, so they go as entities (formatting guide). */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped and cut to Block Kit's length limit without splitting an entity. */
function fitted(raw: string, max: number): string {
  const whole = escapeSlack(raw);
  if (whole.length <= max) return whole;
  let out = '';
  for (const ch of raw) {
    const piece = escapeSlack(ch);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

const plain = (text: string, max: number) => ({ type: 'plain_text', text: fitted(text, max) });

/** Slack shows a `<!date^…>` token in each reader's own time zone, the fallback where it cannot. */
function dueText(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return escapeSlack(iso);
  return `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} {time}|${formatDue(iso)}>`;
}

/**
 * Slack refuses a block whose action_ids repeat (invalid_blocks), and a matter link with an attachment, or
 * two attachments, are all link buttons: the first is `open_link`, the next `open_link_2` and so on. An
 * action's own id is what the callback acts on, so it stays the action's name.
 */
function actionIds(buttons: { action: string | null }[]): string[] {
  let links = 0;
  return buttons.map(({ action }) => {
    if (action) return action;
    links += 1;
    return links === 1 ? 'open_link' : `open_link_${links}`;
  });
}

/**
 * Header, details, due and priority fields, and a button per action link that also calls back.
 * https://docs.slack.dev/reference/block-kit/blocks
 */
function slackBlocks(message: OutboundMessage, locale: Locale): Block[] {
  const m = message.matter;
  const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });
  const fields = [
    field(say(locale, 'notice.field.priority'), fitted(priorityLabel(m.priority, locale), 1_000)),
  ];
  if (m.dueAt) fields.unshift(field(say(locale, 'notice.field.due'), dueText(m.dueAt)));
  const links = linkButtons(message, locale);
  const ids = actionIds(links);
  const buttons: Block[] = links.map(({ action, label, url }, i) => ({
    type: 'button',
    text: plain(label, 75),
    action_id: ids[i],
    value: m.id,
    url,
    ...(i === 0 && action ? { style: 'primary' } : {}),
  }));
  return [
    { type: 'header', text: plain(m.title, 150) },
    { type: 'context', elements: [{ type: 'mrkdwn', text: headline(message.type, locale) }] },
    ...(m.details ? [{ type: 'section', text: { type: 'mrkdwn', text: fitted(m.details, 3_000) } }] : []),
    { type: 'section', fields },
    ...(buttons.length > 0 ? [{ type: 'actions', elements: buttons }] : []),
  ];
}

/** The settled matter: its outcome in place of the buttons. */
function slackOutcomeBlocks(message: OutboundMessage, locale: Locale): Block[] {
  const separator = say(locale, 'notice.separator').trimEnd();
  const lines = [`*${headline(message.type, locale)}*`];
  for (const [label, value] of outcomeFacts(message, locale)) {
    lines.push(`*${label}${separator}* ${fitted(value, 1_000)}`);
  }
  return [
    { type: 'header', text: plain(message.matter.title, 150) },
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: say(locale, 'notice.noFurtherAction') }] },
  ];
}

const fallbackText = (message: OutboundMessage, locale: Locale) =>
  fitted(`${headline(message.type, locale)}${say(locale, 'notice.separator')}${message.matter.title}`, 3_000);

interface Answer extends VendorReply {
  retryAfterMs: number | null;
}

export function slackChannel(options: SlackOptions): Channel {
  async function post(method: string, payload: Record<string, unknown>): Promise<Answer | DeliveryResult> {
    const reply = await exchange(
      {
        url: `${options.baseUrl}/${method}`,
        headers: {
          authorization: `Bearer ${options.botToken}`,
          'content-type': 'application/json; charset=utf-8',
        },
        body: JSON.stringify(payload),
      },
      options.timeoutMs,
    );
    if (failed(reply)) return reply;
    const seconds = Number(reply.headers.get('retry-after'));
    const retryAfterMs = reply.headers.has('retry-after') && Number.isFinite(seconds) ? seconds * 1000 : null;
    return { ...reply, retryAfterMs };
  }

  const limited = (a: Answer) => a.status === 429 || a.json?.error === 'ratelimited';

  /** Sits out one short Retry-After and asks again; a longer one goes back with the answer. */
  async function call(method: string, payload: Record<string, unknown>): Promise<Answer | DeliveryResult> {
    const first = await post(method, payload);
    if (failed(first) || !limited(first)) return first;
    const wait = first.retryAfterMs ?? 1_000;
    if (wait > MAX_INLINE_WAIT_MS) return first;
    await new Promise((resolve) => setTimeout(resolve, wait));
    return post(method, payload);
  }

  function result(answer: Answer | DeliveryResult): DeliveryResult {
    if (failed(answer)) return answer;
    if (answer.status < 300 && answer.json?.ok === true) {
      const { channel, ts } = answer.json;
      return delivered(
        answer.status,
        typeof channel === 'string' && typeof ts === 'string' ? { channel, ts } : undefined,
      );
    }
    const error = typeof answer.json?.error === 'string' ? answer.json.error : null;
    const wait =
      limited(answer) && answer.retryAfterMs !== null ? `; retry after ${answer.retryAfterMs / 1000}s` : '';
    return {
      ok: false,
      httpStatus: answer.status,
      error: `slack answered ${error ?? answer.status}${wait}`,
      retryable:
        answer.status >= 500 || answer.status === 429 || (error !== null && TRANSIENT_ERRORS.has(error)),
    };
  }

  return {
    type: 'slack',
    // "chat.postMessage generally allows posting one message per second per channel" (rate limits guide).
    sendLimits: [{ max: 1, perMs: 1_000 }],

    // https://docs.slack.dev/reference/methods/chat.postMessage
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const locale = targetLocale(target);
      return result(
        await call('chat.postMessage', {
          channel: target.address,
          text: fallbackText(message, locale),
          blocks: slackBlocks(message, locale),
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
    },

    // https://docs.slack.dev/reference/methods/chat.update
    async update(
      target: ChannelTarget,
      ref: Record<string, string>,
      message: OutboundMessage,
    ): Promise<DeliveryResult> {
      if (!ref.channel || !ref.ts) {
        return { ok: false, error: 'no channel and ts to update', retryable: false };
      }
      const locale = targetLocale(target);
      return result(
        await call('chat.update', {
          channel: ref.channel,
          ts: ref.ts,
          text: fallbackText(message, locale),
          blocks: slackOutcomeBlocks(message, locale),
        }),
      );
    },
  };
}
