import { createHash } from 'node:crypto';
import { dingtalkRobotSign } from '../security/inbound/dingtalk.js';
import type { Channel, ChannelTarget, DeliveryResult, OutboundMessage } from './channel.js';
import {
  actionLabel,
  factsLine,
  type Locale,
  markdownUrl,
  noticeLabel,
  oneLine,
  outcomeText,
  say,
  targetLocale,
} from './message-text.js';
import { errcodeTokenCache, tokenGrant } from './token-cache.js';
import {
  callApi,
  delivered,
  errcodeFailure,
  failed,
  type VendorRequest,
  withoutTrailingSlash,
} from './vendor-http.js';

export interface DingtalkRobotOptions {
  /** Defaults to https://oapi.dingtalk.com. */
  baseUrl?: string;
  timeoutMs: number;
  now?: () => Date;
}

export interface DingtalkWorkOptions {
  /** The old API host, where work notifications live; defaults to https://oapi.dingtalk.com. */
  baseUrl?: string;
  /** The new API host, where access tokens come from; defaults to https://api.dingtalk.com. */
  apiBaseUrl?: string;
  appKey: string;
  appSecret: string;
  agentId: number;
  /** An interactive card template (卡片平台) for notices with buttons; without one they go as action cards. */
  card?: { templateId: string; callbackRouteKey: string | null } | null;
  timeoutMs: number;
  now?: () => Date;
}

const DEFAULT_OAPI_URL = 'https://oapi.dingtalk.com';
const DEFAULT_API_URL = 'https://api.dingtalk.com';
const USER_AGENT = 'matterflow-dingtalk/1';
/** Invalid or expired access token: fetch a new one and try once more. */
const TOKEN_REJECTED = new Set([40001, 40014, 42001]);
/** System busy or error, and calls temporarily barred for going too fast. */
const RETRYABLE_ERRCODES = new Set([-1, 500, 90001, 90002, 90003, 90004, 90005, 90006]);
/** System busy; 410100 is today's "sending too fast", 130101 the code older robots answer with. */
const ROBOT_RETRYABLE_ERRCODES = new Set([-1, 410100, 130101]);
/** A work notification's `msg` may take 2048 bytes. */
const WORK_MSG_MAX_BYTES = 2048;

export function dingtalkRobotChannel(options: DingtalkRobotOptions): Channel {
  const base = withoutTrailingSlash(options.baseUrl ?? DEFAULT_OAPI_URL);
  const now = options.now ?? (() => new Date());
  return {
    type: 'dingtalk-robot',
    // Documented per robot; going over mutes it for 10 minutes. Robot messages cannot be edited.
    sendLimits: [{ max: 20, perMs: 60_000 }],
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const secret = typeof target.settings.secret === 'string' ? target.settings.secret : null;
      const answer = await call(
        robotRequest(base, target.address, secret, now(), message, targetLocale(target)),
        options.timeoutMs,
      );
      if (failed(answer)) return answer;
      return errcodeFailure('dingtalk', answer, ROBOT_RETRYABLE_ERRCODES) ?? delivered(answer.status);
    },
  };
}

export function dingtalkWorkChannel(options: DingtalkWorkOptions): Channel {
  const base = withoutTrailingSlash(options.baseUrl ?? DEFAULT_OAPI_URL);
  const apiBase = withoutTrailingSlash(options.apiBaseUrl ?? DEFAULT_API_URL);
  const tokens = errcodeTokenCache(
    async () => {
      const answer = await call(tokenRequest(apiBase, options), options.timeoutMs);
      return failed(answer) ? answer : tokenGrant('dingtalk', answer.json.accessToken, answer.json.expireIn);
    },
    TOKEN_REJECTED,
    options.now,
  );

  return {
    type: 'dingtalk',
    // Documented per employee and day; DingTalk answers success and drops what goes over.
    sendLimits: [{ max: 500, perMs: 86_400_000 }],
    async send(target: ChannelTarget, message: OutboundMessage): Promise<DeliveryResult> {
      const { card } = options;
      // Like WeCom's: a card is worth its update only while it has a button to take away.
      if (card && (message.actions.length > 0 || (message.matter.status === 'open' && message.matter.link))) {
        const outTrackId = uuidFrom(message.idempotencyKey);
        const answer = await tokens.call((token) =>
          call(
            cardSendRequest(apiBase, token, options, card, target, outTrackId, message),
            options.timeoutMs,
          ),
        );
        if (failed(answer)) return answer;
        return answer.json.success === false
          ? {
              ok: false,
              httpStatus: answer.status,
              error: 'dingtalk did not send the card',
              retryable: false,
            }
          : delivered(answer.status, { outTrackId });
      }
      const answer = await tokens.call((token) =>
        call(workRequest(base, token, options.agentId, target, message), options.timeoutMs),
      );
      if (failed(answer)) return answer;
      const failure = errcodeFailure('dingtalk', answer, RETRYABLE_ERRCODES);
      if (failure) return failure;
      const taskId = answer.json.task_id;
      return delivered(
        answer.status,
        typeof taskId === 'number' || typeof taskId === 'string' ? { taskId: String(taskId) } : undefined,
      );
    },
    /**
     * An interactive card (its ref has the outTrackId) gets the outcome as its status and loses its buttons.
     * An action card is recalled instead: DingTalk's status-bar update changes only OA notifications, which
     * have no buttons, and nothing edits a sent action card; recall works within 24 hours.
     */
    async update(
      target: ChannelTarget,
      ref: Record<string, string>,
      message: OutboundMessage,
    ): Promise<DeliveryResult> {
      if (ref.outTrackId) {
        const outTrackId = ref.outTrackId;
        const answer = await tokens.call((token) =>
          call(
            cardUpdateRequest(apiBase, token, outTrackId, message, targetLocale(target)),
            options.timeoutMs,
          ),
        );
        return failed(answer) ? answer : delivered(answer.status);
      }
      const taskId = ref.taskId;
      if (!taskId || !/^\d+$/.test(taskId)) {
        return {
          ok: false,
          error: `no work notification task to recall for ${target.address}`,
          retryable: false,
        };
      }
      const answer = await tokens.call((token) =>
        call(recallRequest(base, token, options.agentId, taskId), options.timeoutMs),
      );
      if (failed(answer)) return answer;
      return errcodeFailure('dingtalk', answer, RETRYABLE_ERRCODES) ?? delivered(answer.status);
    },
  };
}

function call(request: VendorRequest, timeoutMs: number) {
  return callApi(
    'dingtalk',
    { ...request, headers: { ...request.headers, 'user-agent': USER_AGENT } },
    timeoutMs,
    // The new API answers errors with an HTTP status and a `code`.
    (json) => (typeof json?.code === 'string' ? `: ${json.code}` : ''),
  );
}

// https://open.dingtalk.com/document/development/custom-robots-send-group-messages
// Signing: https://open.dingtalk.com/document/dingstart/customize-robot-security-settings
function robotRequest(
  base: string,
  accessToken: string,
  secret: string | null,
  at: Date,
  message: OutboundMessage,
  locale: Locale,
): VendorRequest {
  let query = `access_token=${encodeURIComponent(accessToken)}`;
  if (secret) {
    const timestamp = String(at.getTime());
    query += `&timestamp=${timestamp}&sign=${encodeURIComponent(dingtalkRobotSign(secret, timestamp))}`;
  }
  const title = listTitle(message, locale);
  const text = markdown(message, message.matter.details ?? '', locale);
  const [only] = message.actions;
  const content =
    message.actions.length === 0
      ? { msgtype: 'markdown', markdown: { title, text } }
      : {
          msgtype: 'actionCard',
          actionCard:
            message.actions.length === 1
              ? { title, text, singleTitle: actionLabel(only!.action, locale), singleURL: only!.url }
              : {
                  title,
                  text,
                  btnOrientation: '0',
                  btns: message.actions.map((a) => ({
                    title: actionLabel(a.action, locale),
                    actionURL: a.url,
                  })),
                },
        };
  // msgUuid makes a retry after a lost answer post once.
  return {
    url: `${base}/robot/send?${query}`,
    body: JSON.stringify({ ...content, msgUuid: uuidFrom(message.idempotencyKey) }),
  };
}

// https://open.dingtalk.com/document/development/obtain-the-access-token-of-an-internal-app
function tokenRequest(apiBase: string, options: DingtalkWorkOptions): VendorRequest {
  return {
    url: `${apiBase}/v1.0/oauth2/accessToken`,
    body: JSON.stringify({ appKey: options.appKey, appSecret: options.appSecret }),
  };
}

// https://open.dingtalk.com/document/development/asynchronous-sending-of-enterprise-session-messages
// Message shapes: https://open.dingtalk.com/document/development/message-types-and-data-format
function workRequest(
  base: string,
  token: string,
  agentId: number,
  target: ChannelTarget,
  message: OutboundMessage,
): VendorRequest {
  const locale = targetLocale(target);
  const title = listTitle(message, locale);
  const [only] = message.actions;
  const msgWith = (details: string) => {
    const text = markdown(message, details, locale);
    if (message.actions.length === 0) return { msgtype: 'markdown', markdown: { title, text } };
    return {
      msgtype: 'action_card',
      action_card:
        message.actions.length === 1
          ? { title, markdown: text, single_title: actionLabel(only!.action, locale), single_url: only!.url }
          : {
              title,
              markdown: text,
              btn_orientation: '0',
              btn_json_list: message.actions.map((a) => ({
                title: actionLabel(a.action, locale),
                action_url: a.url,
              })),
            },
    };
  };
  return {
    url: `${base}/topapi/message/corpconversation/asyncsend_v2?access_token=${encodeURIComponent(token)}`,
    body: JSON.stringify({
      agent_id: agentId,
      userid_list: target.address,
      msg: withinBytes(message.matter.details ?? '', WORK_MSG_MAX_BYTES, msgWith),
    }),
  };
}

// POST /v1.0/im/interactiveCards/send, fields as SendInteractiveCardRequest in aliyun/dingtalk-sdk
// (dingtalk/ts/src/im_1_0/client.ts): conversationType 0 is a one-to-one chat with one receiver; an in-house
// app's robot has the app's AppKey as its robotCode.
function cardSendRequest(
  apiBase: string,
  token: string,
  options: DingtalkWorkOptions,
  card: { templateId: string; callbackRouteKey: string | null },
  target: ChannelTarget,
  outTrackId: string,
  message: OutboundMessage,
): VendorRequest {
  return {
    url: `${apiBase}/v1.0/im/interactiveCards/send`,
    headers: { 'x-acs-dingtalk-access-token': token },
    body: JSON.stringify({
      cardTemplateId: card.templateId,
      outTrackId,
      conversationType: 0,
      receiverUserIdList: [target.address],
      robotCode: options.appKey,
      ...(card.callbackRouteKey ? { callbackRouteKey: card.callbackRouteKey } : {}),
      cardData: { cardParamMap: cardParams(message, targetLocale(target)) },
    }),
  };
}

// PUT /v1.0/im/interactiveCards, fields as UpdateInteractiveCardRequest in aliyun/dingtalk-sdk
// (dingtalk/ts/src/im_1_0/client.ts); updateCardDataByKey changes only the keys given.
function cardUpdateRequest(
  apiBase: string,
  token: string,
  outTrackId: string,
  message: OutboundMessage,
  locale: Locale,
): VendorRequest {
  return {
    url: `${apiBase}/v1.0/im/interactiveCards`,
    method: 'PUT',
    headers: { 'x-acs-dingtalk-access-token': token },
    body: JSON.stringify({
      outTrackId,
      cardData: {
        cardParamMap: { status: outcomeText(message, locale), actionable: 'false', completeToken: '' },
      },
      cardOptions: { updateCardDataByKey: true },
    }),
  };
}

/**
 * What the card template is given, all strings as DingTalk requires: `title`, `markdown`, `status` (empty
 * until the matter ends), `actionable` ("true" until then), `matterUrl`, and per action link `<action>Url`
 * and `<action>Label`. The complete button is a 回传请求 whose params are `action` = "complete" and `token`
 * bound to `completeToken`, the action link's token, which the callback checks exactly like the link.
 */
function cardParams(message: OutboundMessage, locale: Locale): Record<string, string> {
  const params: Record<string, string> = {
    title: listTitle(message, locale),
    markdown: markdown(message, message.matter.details ?? '', locale),
    status: '',
    actionable: 'true',
    matterUrl: message.matter.link ?? '',
  };
  for (const { action, url } of message.actions) {
    params[`${action}Url`] = url;
    params[`${action}Label`] = actionLabel(action, locale);
    // The link's last segment is its token, as in WeCom's button keys.
    if (action === 'complete') params.completeToken = url.slice(url.lastIndexOf('/') + 1);
  }
  return params;
}

// https://open.dingtalk.com/document/development/notification-of-work-withdrawal
function recallRequest(base: string, token: string, agentId: number, taskId: string): VendorRequest {
  return {
    url: `${base}/topapi/message/corpconversation/recall?access_token=${encodeURIComponent(token)}`,
    body: JSON.stringify({ agent_id: agentId, msg_task_id: Number(taskId) }),
  };
}

/** What the conversation list and the push notification show. */
function listTitle(message: OutboundMessage, locale: Locale): string {
  return `${noticeLabel(message.type, locale)}: ${oneLine(message.matter.title)}`;
}

/** The card's markdown; the action links are its buttons, so only the matter's own link shows here. */
function markdown(message: OutboundMessage, details: string, locale: Locale): string {
  const { matter } = message;
  return [
    `### ${escapeMarkdown(oneLine(matter.title))}`,
    `> ${escapeMarkdown(factsLine(message, locale))}`,
    // DingTalk breaks lines on "\n" with two spaces either side.
    ...(details ? [escapeMarkdown(details).replace(/\r?\n/g, '  \n  ')] : []),
    ...(matter.link
      ? [`[${escapeMarkdown(say(locale, 'notice.openMatter'))}](${markdownUrl(matter.link)})`]
      : []),
  ].join('\n\n');
}

/** Builds with the whole details when that fits, else with the longest cut of them (and an ellipsis) that does. */
function withinBytes<T>(details: string, maxBytes: number, build: (details: string) => T): T {
  const fits = (d: string) => Buffer.byteLength(JSON.stringify(build(d))) <= maxBytes;
  if (details === '' || fits(details)) return build(details);
  const chars = Array.from(details);
  const cut = (n: number) => `${chars.slice(0, n).join('')}…`;
  let low = 0;
  let high = chars.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(cut(mid))) low = mid;
    else high = mid - 1;
  }
  return build(cut(low));
}

/** Matter text must not turn into markup: headings, quotes, emphasis, links, code and HTML. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>#]/g, '\\$&');
}

/** A UUID-shaped value fixed by the idempotency key. */
function uuidFrom(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
