import { createHash } from 'node:crypto';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import {
  actionLabel,
  factsLine,
  formatDue,
  type Locale,
  markdownUrl,
  noticeLabel,
  oneLine,
  outcomeText,
  priorityLabel,
  say,
  targetLocale,
} from './message-text.js';
import { errcodeTokenCache, tokenGrant } from './token-cache.js';
import {
  type ApiReply,
  callApi,
  delivered,
  errcodeFailure,
  failed,
  type VendorRequest,
  withoutTrailingSlash,
} from './vendor-http.js';

export interface WecomAppOptions {
  /** Defaults to https://qyapi.weixin.qq.com. */
  baseUrl?: string;
  corpId: string;
  /** The app's own secret: each WeCom app gets its own access token. */
  corpSecret: string;
  agentId: number;
  timeoutMs: number;
  now?: () => Date;
}

export interface WecomRobotOptions {
  /** Defaults to https://qyapi.weixin.qq.com. */
  baseUrl?: string;
  timeoutMs: number;
}

const DEFAULT_BASE_URL = 'https://qyapi.weixin.qq.com';
const USER_AGENT = 'matterflow-wecom/1';
/** The longest window WeCom offers (4 hours): a retry of a send whose answer was lost is not shown twice. */
const DUPLICATE_CHECK_INTERVAL_S = 4 * 60 * 60;
/** Invalid or expired access token: fetch a new one and try once more. */
const TOKEN_REJECTED = new Set([40014, 42001]);
/** System busy, call frequency and concurrency limits: the same request can pass later. */
const RETRYABLE_ERRCODES = new Set([-1, 45009, 45033, 45035]);
const APP_MARKDOWN_MAX_BYTES = 2048;
const ROBOT_MARKDOWN_MAX_BYTES = 4096;
const SUB_TITLE_MAX_CHARS = 160;
const TASK_ID_READABLE_CHARS = 84;

/**
 * The `key` of a card button: WeCom hands it back as the click event's EventKey, so it carries the action
 * and the action link's token, which the callback verifies exactly like the link itself.
 */
export function wecomButtonKey(action: { action: string; url: string }): string {
  return `mf:${action.action}:${action.url.slice(action.url.lastIndexOf('/') + 1)}`;
}

export function parseWecomButtonKey(key: string): { action: string; token: string } | null {
  const match = /^mf:([a-z]+):(.+)$/.exec(key);
  return match ? { action: match[1]!, token: match[2]! } : null;
}

/**
 * WeCom wants a task_id unique per app, at most 128 bytes of [A-Za-z0-9_-@]. The same idempotency key
 * gives the same task_id, so a retried send matches WeCom's duplicate check instead of posting twice.
 */
function wecomTaskId(idempotencyKey: string): string {
  const readable = idempotencyKey.replace(/[^A-Za-z0-9_\-@]/g, '_').slice(0, TASK_ID_READABLE_CHARS);
  return `${readable}@${createHash('sha256').update(idempotencyKey).digest('base64url')}`;
}

export function wecomAppChannel(options: WecomAppOptions): Channel {
  const base = withoutTrailingSlash(options.baseUrl ?? DEFAULT_BASE_URL);
  const tokens = errcodeTokenCache(
    async () => {
      const answer = await call(tokenRequest(base, options), options.timeoutMs);
      if (failed(answer)) return answer;
      return vendorFailure(answer) ?? tokenGrant('wecom', answer.json.access_token, answer.json.expires_in);
    },
    TOKEN_REJECTED,
    options.now,
  );

  return {
    type: 'wecom',
    // Documented per app and member; WeCom silently drops what goes over.
    sendLimits: [
      { max: 30, perMs: 60_000 },
      { max: 1000, perMs: 3_600_000 },
    ],
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      // A card can be greyed out once the matter ends, so an open matter goes as one when it has a button
      // to carry: an action, or else its link. The rest (a notice that it ended, say) is plain markdown.
      const withCard =
        message.actions.length > 0 || (message.matter.status === 'open' && message.matter.link !== null);
      const locale = targetLocale(target);
      const [msgtype, content] = withCard
        ? (['template_card', templateCard(message, locale)] as const)
        : (['markdown', { content: markdown(message, APP_MARKDOWN_MAX_BYTES, locale) }] as const);
      const answer = await tokens.call((token) =>
        call(
          messageRequest(base, token, options.agentId, target.address, msgtype, content),
          options.timeoutMs,
        ),
      );
      if (failed(answer)) return answer;
      const failure = vendorFailure(answer) ?? unreached(answer, target.address);
      if (failure) return failure;
      if (!withCard) return delivered(answer.status);
      const responseCode = answer.json.response_code;
      return delivered(answer.status, {
        taskId: wecomTaskId(message.idempotencyKey),
        ...(typeof responseCode === 'string' && responseCode !== '' ? { responseCode } : {}),
      });
    },
    /**
     * Greys the card's buttons out under the outcome, named after `message.handler`: the recipient of the
     * outcome notice (who completed it, whom it went to). WeCom accepts each response_code once, for 72 hours.
     */
    async update(
      target: ChannelTarget,
      ref: Record<string, string>,
      message: OutboundMessage,
    ): Promise<DeliveryResult> {
      const responseCode = ref.responseCode;
      if (!responseCode)
        return { ok: false, error: 'no response_code to update the card with', retryable: false };
      const locale = targetLocale(target);
      const answer = await tokens.call((token) =>
        call(
          updateCardRequest(base, token, options.agentId, target.address, responseCode, message, locale),
          options.timeoutMs,
        ),
      );
      if (failed(answer)) return answer;
      return vendorFailure(answer) ?? delivered(answer.status);
    },
  };
}

export function wecomRobotChannel(options: WecomRobotOptions): Channel {
  const base = withoutTrailingSlash(options.baseUrl ?? DEFAULT_BASE_URL);
  return {
    type: 'wecom-robot',
    // Documented per robot; robot messages cannot be edited, hence no `update`.
    sendLimits: [{ max: 20, perMs: 60_000 }],
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const answer = await call(
        robotRequest(base, target.address, message, targetLocale(target)),
        options.timeoutMs,
      );
      if (failed(answer)) return answer;
      return vendorFailure(answer) ?? delivered(answer.status);
    },
  };
}

function call(request: VendorRequest, timeoutMs: number) {
  return callApi('wecom', { ...request, headers: { 'user-agent': USER_AGENT } }, timeoutMs);
}

function vendorFailure(answer: ApiReply): DeliveryResult | null {
  return errcodeFailure('wecom', answer, RETRYABLE_ERRCODES);
}

// https://developer.work.weixin.qq.com/document/path/91039
function tokenRequest(base: string, options: WecomAppOptions): VendorRequest {
  const query = new URLSearchParams({ corpid: options.corpId, corpsecret: options.corpSecret });
  return { url: `${base}/cgi-bin/gettoken?${query}` };
}

// https://developer.work.weixin.qq.com/document/path/90236
function messageRequest(
  base: string,
  token: string,
  agentId: number,
  userId: string,
  msgtype: string,
  content: unknown,
): VendorRequest {
  return {
    url: `${base}/cgi-bin/message/send?access_token=${encodeURIComponent(token)}`,
    body: JSON.stringify({
      touser: userId,
      msgtype,
      agentid: agentId,
      [msgtype]: content,
      enable_duplicate_check: 1,
      duplicate_check_interval: DUPLICATE_CHECK_INTERVAL_S,
    }),
  };
}

// https://developer.work.weixin.qq.com/document/path/90236 (模板卡片消息, 按钮交互型)
function templateCard(message: OutboundMessage, locale: Locale): Record<string, unknown> {
  const { matter, actions } = message;
  const open = say(locale, 'notice.open');
  // button_interaction has no jump_list: the links ride in horizontal_content_list (at most 6 rows).
  const rows = [
    ...(matter.dueAt ? [{ keyname: say(locale, 'notice.field.due'), value: formatDue(matter.dueAt) }] : []),
    ...actions.map((a) => ({ type: 1, keyname: actionLabel(a.action, locale), value: open, url: a.url })),
    { keyname: say(locale, 'notice.field.priority'), value: priorityLabel(matter.priority, locale) },
  ].slice(0, 6);
  return {
    card_type: 'button_interaction',
    main_title: { title: matter.title, desc: noticeLabel(message.type, locale) },
    ...(matter.details ? { sub_title_text: clipChars(matter.details, SUB_TITLE_MAX_CHARS) } : {}),
    horizontal_content_list: rows,
    card_action: { type: 1, url: matter.link ?? actions[0]!.url },
    task_id: wecomTaskId(message.idempotencyKey),
    button_list:
      actions.length > 0
        ? actions.slice(0, 6).map((a, i) => ({
            text: actionLabel(a.action, locale),
            style: i === 0 ? 1 : 2,
            key: wecomButtonKey(a),
          }))
        : // Type 1 opens its url rather than calling back.
          [{ text: say(locale, 'notice.openMatter'), style: 1, type: 1, url: matter.link }],
  };
}

// https://developer.work.weixin.qq.com/document/path/94888 (更新按钮为不可点击状态)
function updateCardRequest(
  base: string,
  token: string,
  agentId: number,
  userId: string,
  responseCode: string,
  message: OutboundMessage,
  locale: Locale,
): VendorRequest {
  return {
    url: `${base}/cgi-bin/message/update_template_card?access_token=${encodeURIComponent(token)}`,
    body: JSON.stringify({
      userids: [userId],
      agentid: agentId,
      response_code: responseCode,
      button: { replace_name: outcomeText(message, locale) },
    }),
  };
}

// https://developer.work.weixin.qq.com/document/path/99110 (markdown类型)
function robotRequest(base: string, key: string, message: OutboundMessage, locale: Locale): VendorRequest {
  return {
    url: `${base}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`,
    body: JSON.stringify({
      msgtype: 'markdown',
      markdown: { content: markdown(message, ROBOT_MARKDOWN_MAX_BYTES, locale) },
    }),
  };
}

/** WeCom's markdown subset; the details give way when the content would pass the byte limit. */
function markdown(message: OutboundMessage, maxBytes: number, locale: Locale): string {
  const { matter } = message;
  const links = [
    ...message.actions.map(
      (a) => `[${escapeMarkdown(actionLabel(a.action, locale))}](${markdownUrl(a.url)})`,
    ),
    ...(matter.link
      ? [`[${escapeMarkdown(say(locale, 'notice.openMatter'))}](${markdownUrl(matter.link)})`]
      : []),
  ];
  const sections = [
    `### ${escapeMarkdown(oneLine(matter.title))}`,
    `> ${escapeMarkdown(factsLine(message, locale))}`,
    ...(links.length > 0 ? [links.join('  ')] : []),
  ];
  if (matter.details) {
    const room = maxBytes - Buffer.byteLength(sections.join('\n\n')) - 2;
    sections.splice(2, 0, escapedWithin(matter.details, room));
  }
  return sections.join('\n\n');
}

function clipChars(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Matter text must not turn into markup: WeCom renders headings, bold, links, code, quotes and <font>. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*[\]<>#]/g, '\\$&');
}

/** The escaped text, cut short with an ellipsis so that it takes at most `maxBytes` of UTF-8. */
function escapedWithin(text: string, maxBytes: number): string {
  const whole = escapeMarkdown(text);
  if (Buffer.byteLength(whole) <= maxBytes) return whole;
  let out = '';
  let used = Buffer.byteLength('…');
  for (const ch of text) {
    const piece = escapeMarkdown(ch);
    used += Buffer.byteLength(piece);
    if (used > maxBytes) break;
    out += piece;
  }
  return `${out}…`;
}

/** WeCom still answers errcode 0 when some recipients were refused; ours is the only one. */
function unreached(answer: ApiReply, userId: string): DeliveryResult | null {
  for (const field of ['invaliduser', 'unlicenseduser']) {
    const listed = String(answer.json[field] ?? '')
      .toLowerCase()
      .split('|');
    if (listed.includes(userId.toLowerCase())) {
      return {
        ok: false,
        httpStatus: answer.status,
        error: `wecom refused the recipient (${field})`,
        retryable: false,
      };
    }
  }
  return null;
}
