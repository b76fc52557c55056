import { createHmac, randomUUID } from 'node:crypto';
import { encryptFeishu, feishuSignature } from '../../src/security/inbound/feishu.js';
import { encryptWecom, wecomSignature } from '../../src/security/inbound/wecom.js';

/** Vendors' callback requests built as each vendor documents them, for tests that play the vendor. */

export const nowS = () => Math.floor(Date.now() / 1000);

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/** A Slack `block_actions` payload: the user pressed the button `actionId` on a matter's message. */
export function slackBlockAction(
  userId: string,
  matterId: string,
  options: { team: string; actionId?: string; responseUrl?: string },
) {
  const channel = `D0${options.team}`;
  return {
    type: 'block_actions',
    user: { id: userId, username: 'someone', team_id: `T0${options.team}` },
    api_app_id: `A0${options.team}`,
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: channel },
    ...(options.responseUrl ? { channel: { id: channel }, response_url: options.responseUrl } : {}),
    actions: [
      {
        type: 'button',
        action_id: options.actionId ?? 'complete',
        block_id: 'b',
        value: matterId,
        action_ts: '1700000001.1',
      },
    ],
  };
}

/** Signed as Slack documents: v0=HMAC-SHA256(secret, "v0:" + timestamp + ":" + body). */
export function slackSigned(secret: string, payload: unknown, timestamp = nowS()): SignedRequest {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = String(timestamp);
  const signature = createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex');
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': `v0=${signature}`,
    },
  };
}

export interface WecomApp {
  corpId: string;
  agentId: string;
  /** The callback token the signature uses. */
  token: string;
  aesKey: string;
}

/** A `template_card_event`: the user pressed the card button whose key is `eventKey`. */
export function wecomCardEvent(app: WecomApp, fromUser: string, eventKey: string): string {
  return [
    '<xml>',
    `<ToUserName><![CDATA[${app.corpId}]]></ToUserName>`,
    `<FromUserName><![CDATA[${fromUser}]]></FromUserName>`,
    `<CreateTime>${nowS()}</CreateTime>`,
    '<MsgType><![CDATA[event]]></MsgType>',
    '<Event><![CDATA[template_card_event]]></Event>',
    `<EventKey><![CDATA[${eventKey}]]></EventKey>`,
    `<TaskId><![CDATA[task-${randomUUID()}]]></TaskId>`,
    '<CardType><![CDATA[button_interaction]]></CardType>',
    '<ResponseCode><![CDATA[response-code]]></ResponseCode>',
    `<AgentID>${app.agentId}</AgentID>`,
    '</xml>',
  ].join('');
}

/** Encrypted for the CorpID and signed with the callback token, as WXBizMsgCrypt's EncryptMsg does. */
export function wecomSigned(
  app: WecomApp,
  message: string,
  options: { timestamp?: number; token?: string } = {},
): { path: string; encrypt: string; body: string } {
  const encrypt = encryptWecom(app.aesKey, message, app.corpId);
  const nonce = randomUUID().slice(0, 10);
  const ts = String(options.timestamp ?? nowS());
  const query = new URLSearchParams({
    msg_signature: wecomSignature(options.token ?? app.token, ts, nonce, encrypt),
    timestamp: ts,
    nonce,
  });
  return {
    path: `/v1/callbacks/wecom?${query}`,
    encrypt,
    body: `<xml><ToUserName><![CDATA[${app.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${app.agentId}]]></AgentID></xml>`,
  };
}

/** A Feishu `card.action.trigger` (schema 2.0) from the operator pressing a button carrying `value`. */
export function feishuCardAction(options: {
  appId: string;
  verificationToken: string;
  userId: string;
  openId: string;
  value: unknown;
}) {
  return {
    schema: '2.0',
    header: {
      event_id: randomUUID(),
      token: options.verificationToken,
      create_time: String(Date.now()),
      event_type: 'card.action.trigger',
      tenant_key: 'tenant',
      app_id: options.appId,
    },
    event: {
      operator: { tenant_key: 'tenant', user_id: options.userId, open_id: options.openId },
      token: 'c-card-update-token',
      action: { value: options.value, tag: 'button' },
      host: 'im_message',
      context: { open_message_id: 'om_x', open_chat_id: 'oc_x' },
    },
  };
}

/** Encrypted with the Encrypt Key and signed sha256(timestamp + nonce + key + body), as Feishu sends. */
export function feishuSigned(
  key: string,
  payload: unknown,
  options: { timestamp?: number; signed?: boolean } = {},
): SignedRequest {
  const body = JSON.stringify({ encrypt: encryptFeishu(key, JSON.stringify(payload)) });
  const ts = String(options.timestamp ?? nowS());
  const nonce = randomUUID();
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (options.signed !== false) {
    headers['x-lark-request-timestamp'] = ts;
    headers['x-lark-request-nonce'] = nonce;
    headers['x-lark-signature'] = feishuSignature(ts, nonce, key, body);
  }
  return { body, headers };
}

/** The path of WeCom's URL verification GET: `echo` encrypted as `echostr`, signed with the token. */
export function wecomUrlVerification(app: WecomApp, echo: string, options: { token?: string } = {}): string {
  const echostr = encryptWecom(app.aesKey, echo, app.corpId);
  const ts = String(nowS());
  const query = new URLSearchParams({
    msg_signature: wecomSignature(options.token ?? app.token, ts, 'n0nce', echostr),
    timestamp: ts,
    nonce: 'n0nce',
    echostr,
  });
  return `/v1/callbacks/wecom?${query}`;
}

export interface DingtalkApp {
  /** The receiveId callbacks are encrypted for. */
  appKey: string;
  token: string;
  aesKey: string;
}

/** An interactive card callback: the user pressed the component `actionId`, which posted `params`. */
export function dingtalkCardCallback(userId: string, params: Record<string, unknown>, actionId = 'complete') {
  return {
    outTrackId: randomUUID(),
    corpId: 'dingcorp',
    userId,
    value: JSON.stringify({ cardPrivateData: { actionIds: [actionId], params } }),
  };
}

/** Encrypted for the AppKey and signed with the callback token, as DingTalk's event push is (millisecond timestamp). */
export function dingtalkSigned(
  app: DingtalkApp,
  payload: unknown,
  options: { timestampMs?: number; token?: string } = {},
): { path: string; encrypt: string; body: string } {
  const encrypt = encryptWecom(app.aesKey, JSON.stringify(payload), app.appKey);
  const nonce = randomUUID().slice(0, 8);
  const ts = String(options.timestampMs ?? Date.now());
  const query = new URLSearchParams({
    msg_signature: wecomSignature(options.token ?? app.token, ts, nonce, encrypt),
    timestamp: ts,
    nonce,
  });
  return { path: `/v1/callbacks/dingtalk?${query}`, encrypt, body: JSON.stringify({ encrypt }) };
}
