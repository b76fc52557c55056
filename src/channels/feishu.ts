import { createHash, createHmac } from 'node:crypto';
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
import { AccessTokenCache } from './token-cache.js';
import {
  delivered,
  exchange,
  failed,
  retryableStatus,
  statusFailure,
  type VendorReply,
} from './vendor-http.js';

export interface FeishuAppOptions {
  /** https://open.feishu.cn, or https://open.larksuite.com for Lark. */
  baseUrl: string;
  appId: string;
  appSecret: string;
  timeoutMs: number;
  now?: () => Date;
}

export interface FeishuBotOptions {
  baseUrl: string;
  timeoutMs: number;
  now?: () => Date;
}

type Card = Record<string, unknown>;

/** `receive_id_type` values the send-message API accepts; `target.settings.receiveIdType` picks one. */
const RECEIVE_ID_TYPES = new Set(['open_id', 'union_id', 'user_id', 'email', 'chat_id']);

/** Generic error codes for a tenant_access_token that expired or was revoked (generic-error-code). */
const INVALID_TOKEN_CODES = new Set([99991663, 99991665]);

/**
 * 99991400: gateway rate limit; 230020: the per-user/per-chat send limit; 230049: same uuid still being sent;
 * and a token still refused after a fresh one was fetched, which the next attempt fetches anew.
 */
const APP_RETRYABLE_CODES = new Set([99991400, 230020, 230049, ...INVALID_TOKEN_CODES]);

/**
 * Card markdown turns these into formatting, links, emoji or mentions; the card docs have them written as
 * numeric HTML entities to show them as typed.
 */
function escapeFeishuMarkdown(text: string): string {
  return text.replace(/[&<>*_~`[\]()#+\-!\\$:|{}"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "**Due:** value", with the colon of the reader's language. */
function fieldLine(label: string, value: string, locale: Locale): string {
  return `**${label}${say(locale, 'notice.separator').trimEnd()}** ${value}`;
}

function headerColor(priority: string): string {
  if (priority === 'urgent') return 'red';
  if (priority === 'high') return 'orange';
  return 'blue';
}

/**
 * A card in the JSON 1.0 layout. `update_multi` makes it a shared card, which the patch API requires both
 * before and after the update. Only app bots get click callbacks, so only they carry `value`; the legacy
 * `url` plus `value` jump and call back only with `complex_interaction`.
 * https://open.feishu.cn/document/feishu-cards/card-components/interactive-components/button
 */
function feishuCard(message: OutboundMessage, withCallbacks: boolean, locale: Locale): Card {
  const m = message.matter;
  const lines = [`**${headline(message.type, locale)}**`];
  if (m.details) lines.push(escapeFeishuMarkdown(m.details));
  if (m.dueAt) lines.push(fieldLine(say(locale, 'notice.field.due'), formatDue(m.dueAt), locale));
  const priority = escapeFeishuMarkdown(priorityLabel(m.priority, locale));
  lines.push(fieldLine(say(locale, 'notice.field.priority'), priority, locale));
  const buttons: Card[] = linkButtons(message, locale).map(({ action, label, url }, i) => ({
    tag: 'button',
    text: { tag: 'plain_text', content: label },
    type: i === 0 && action ? 'primary' : 'default',
    url,
    ...(withCallbacks && action ? { value: { action, matterId: m.id }, complex_interaction: true } : {}),
  }));
  return {
    config: { wide_screen_mode: true, update_multi: true },
    header: { template: headerColor(m.priority), title: { tag: 'plain_text', content: m.title } },
    elements: [
      { tag: 'markdown', content: lines.join('\n') },
      ...(buttons.length > 0 ? [{ tag: 'action', actions: buttons }] : []),
    ],
  };
}

/** What a sent card becomes once the matter is settled: the outcome and nothing left to click. */
function feishuOutcomeCard(message: OutboundMessage, locale: Locale): Card {
  const m = message.matter;
  const lines = [`**${headline(message.type, locale)}**`];
  for (const [label, value] of outcomeFacts(message, locale)) {
    lines.push(fieldLine(label, escapeFeishuMarkdown(value), locale));
  }
  return {
    config: { wide_screen_mode: true, update_multi: true },
    header: {
      template: m.status === 'completed' ? 'green' : 'grey',
      title: { tag: 'plain_text', content: m.title },
    },
    elements: [
      { tag: 'markdown', content: lines.join('\n') },
      { tag: 'note', elements: [{ tag: 'plain_text', content: say(locale, 'notice.noFurtherAction') }] },
    ],
  };
}

/**
 * At most 50 characters, as the send-message API allows; the same notice always yields the same uuid, so a
 * retried send within the hour is dropped by Feishu instead of posted twice.
 */
function feishuUuid(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 50);
}

/** `sign` as the custom-bot guide computes it: HmacSHA256 keyed by "timestamp\nsecret" over nothing, in Base64. */
function feishuBotSign(timestamp: string, secret: string): string {
  return createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
}

const JSON_UTF8 = { 'content-type': 'application/json; charset=utf-8' };

function codeOf(answer: VendorReply): number | null {
  return typeof answer.json?.code === 'number' ? answer.json.code : null;
}

const accepted = (answer: VendorReply) => answer.status < 300 && codeOf(answer) === 0;

/** Feishu puts its error code in the body of 4xx answers too. */
function refusal(answer: VendorReply, retryableCodes: ReadonlySet<number>): DeliveryResult {
  const code = codeOf(answer);
  if (code === null) return statusFailure('feishu', answer.status);
  const msg = typeof answer.json?.msg === 'string' ? answer.json.msg : '';
  return {
    ok: false,
    httpStatus: answer.status,
    error: `feishu answered code ${code}: ${msg}`.trim(),
    retryable: retryableStatus(answer.status) || retryableCodes.has(code),
  };
}

export function feishuAppChannel(options: FeishuAppOptions): Channel {
  const tokens = new AccessTokenCache<VendorReply>({
    // https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
    fetch: async () => {
      const answer = await exchange(
        {
          url: `${options.baseUrl}/open-apis/auth/v3/tenant_access_token/internal`,
          headers: JSON_UTF8,
          body: JSON.stringify({ app_id: options.appId, app_secret: options.appSecret }),
        },
        options.timeoutMs,
      );
      if (failed(answer)) return answer;
      const token = answer.json?.tenant_access_token;
      const expire = answer.json?.expire;
      if (codeOf(answer) !== 0 || typeof token !== 'string' || typeof expire !== 'number') {
        const why = refusal(answer, APP_RETRYABLE_CODES);
        return { ...why, error: `tenant_access_token: ${why.error}` };
      }
      return { token, expiresInS: expire };
    },
    // Asking again within the last 30 minutes of a token's life is what yields a new one.
    renewEarlyMs: 30 * 60_000,
    refused: (answer) => INVALID_TOKEN_CODES.has(codeOf(answer) ?? 0),
    now: options.now,
  });

  const call = (method: string, path: string, body: unknown) =>
    tokens.call((token) =>
      exchange(
        {
          url: `${options.baseUrl}${path}`,
          method,
          headers: { ...JSON_UTF8, authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        },
        options.timeoutMs,
      ),
    );

  return {
    type: 'feishu',
    // "向同一用户发送消息的限频为 5 QPS、向同一群组发送消息的限频为群内机器人共享 5 QPS" (send-message API).
    sendLimits: [{ max: 5, perMs: 1_000 }],

    // https://open.feishu.cn/document/server-docs/im-v1/message/create
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const receiveIdType = target.settings.receiveIdType ?? 'user_id';
      if (typeof receiveIdType !== 'string' || !RECEIVE_ID_TYPES.has(receiveIdType)) {
        return { ok: false, error: `unknown receiveIdType ${String(receiveIdType)}`, retryable: false };
      }
      const answer = await call(
        'POST',
        `/open-apis/im/v1/messages?${new URLSearchParams({ receive_id_type: receiveIdType })}`,
        {
          receive_id: target.address,
          msg_type: 'interactive',
          content: JSON.stringify(feishuCard(message, true, targetLocale(target))),
          uuid: feishuUuid(message.idempotencyKey),
        },
      );
      if (failed(answer)) return answer;
      if (!accepted(answer)) return refusal(answer, APP_RETRYABLE_CODES);
      const data = answer.json?.data as { message_id?: unknown } | undefined;
      return delivered(
        answer.status,
        typeof data?.message_id === 'string' ? { messageId: data.message_id } : undefined,
      );
    },

    // https://open.feishu.cn/document/server-docs/im-v1/message-card/patch
    async update(
      target: ChannelTarget,
      ref: Record<string, string>,
      message: OutboundMessage,
    ): Promise<DeliveryResult> {
      if (!ref.messageId) return { ok: false, error: 'no messageId to update', retryable: false };
      const answer = await call('PATCH', `/open-apis/im/v1/messages/${encodeURIComponent(ref.messageId)}`, {
        content: JSON.stringify(feishuOutcomeCard(message, targetLocale(target))),
      });
      if (failed(answer)) return answer;
      return accepted(answer) ? delivered(answer.status) : refusal(answer, APP_RETRYABLE_CODES);
    },
  };
}

/** 11232: the custom-bot frequency limit. 9499 is "Bad Request" unless its message says it was throttled. */
function botRefusal(answer: VendorReply): DeliveryResult {
  const result = refusal(answer, new Set([11232]));
  const throttled = codeOf(answer) === 9499 && /too many|frequency/i.test(String(answer.json?.msg ?? ''));
  return throttled ? { ...result, retryable: true } : result;
}

export function feishuBotChannel(options: FeishuBotOptions): Channel {
  const now = options.now ?? (() => new Date());
  return {
    type: 'feishu-bot',
    // "单租户单机器人 100 次/分钟，5 次/秒" (custom bot guide).
    sendLimits: [
      { max: 5, perMs: 1_000 },
      { max: 100, perMs: 60_000 },
    ],

    // https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      if (!target.address) return { ok: false, error: 'no webhook token', retryable: false };
      const secret = target.settings.secret;
      const timestamp = String(Math.floor(now().getTime() / 1000));
      const signed =
        typeof secret === 'string' && secret !== ''
          ? { timestamp, sign: feishuBotSign(timestamp, secret) }
          : {};
      const answer = await exchange(
        {
          url: `${options.baseUrl}/open-apis/bot/v2/hook/${encodeURIComponent(target.address)}`,
          headers: JSON_UTF8,
          body: JSON.stringify({
            ...signed,
            msg_type: 'interactive',
            card: feishuCard(message, false, targetLocale(target)),
          }),
        },
        options.timeoutMs,
      );
      if (failed(answer)) return answer;
      return accepted(answer) ? delivered(answer.status) : botRefusal(answer);
    },
    // Custom-bot cards are static: the hook answers no message id and nothing can patch them, so no update.
  };
}
