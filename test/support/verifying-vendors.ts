import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { FakeVendor, type VendorReply, type VendorRequest } from './fake-vendor.js';

/*
 * Loopback receivers that behave like each vendor's outbound endpoint as far as its documentation goes:
 * they check the method and path, the body's shape and the signature or credential, and refuse the way
 * the vendor does. The signing algorithms here are written out from the vendors' documents, apart from
 * the project's own, so that a receiver's "accepted" says the vendor would have accepted too.
 */

/** What a receiver made of one request. */
export interface Verdict {
  method: string;
  path: string;
  accepted: boolean;
  /** Why it was refused; null when it was accepted. */
  reason: string | null;
}

interface Judgement {
  refusal: string | null;
  reply: VendorReply;
}

const accept = (reply: VendorReply): Judgement => ({ refusal: null, reply });
const refuse = (refusal: string, reply: VendorReply): Judgement => ({ refusal, reply });

/** A FakeVendor whose routes judge each request; any other path answers 404, as the vendor's gateway does. */
export class VerifyingVendor {
  readonly fake = new FakeVendor();
  private readonly judged = new WeakMap<VendorRequest, Verdict>();

  get url(): string {
    return this.fake.url;
  }

  route(method: string, path: string, judge: (request: VendorRequest) => Judgement): this {
    this.fake.on(method, path, (request) => {
      const { refusal, reply } = judge(request);
      this.judged.set(request, {
        method: request.method,
        path: request.path,
        accepted: refusal === null,
        reason: refusal,
      });
      return reply;
    });
    return this;
  }

  /** Every request so far, oldest first, with its verdict. */
  verdicts(): Verdict[] {
    return this.fake.requests.map(
      (r) =>
        this.judged.get(r) ?? { method: r.method, path: r.path, accepted: false, reason: 'no such route' },
    );
  }

  /** The requests the receiver accepted, oldest first. */
  accepted(): VendorRequest[] {
    return this.fake.requests.filter((r) => this.judged.get(r)?.accepted === true);
  }

  forget(): void {
    this.fake.requests.length = 0;
  }
}

/** One receiver for a test file: started before its tests, its requests forgotten between them. */
export function useVerifyingVendor<T extends VerifyingVendor>(vendor: T): T {
  beforeAll(async () => {
    await vendor.fake.start();
  });
  afterAll(() => vendor.fake.close());
  beforeEach(() => vendor.forget());
  return vendor;
}

// --- The vendors' algorithms, written out from their documents -------------------------------------------

/** Ours (README "See it arrive"): `sha256=` and the hex HMAC-SHA256 of the raw body. */
export function matterflowWebhookSignature(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(rawBody, 'utf8')).digest('hex')}`;
}

/** DingTalk custom robot: base64 of HmacSHA256 keyed by the secret over "timestamp\nsecret". */
export function dingtalkRobotSignature(secret: string, timestampMs: string): string {
  const key = Buffer.from(secret, 'utf8');
  return createHmac('sha256', key)
    .update(Buffer.from(`${timestampMs}\n${secret}`, 'utf8'))
    .digest('base64');
}

/** Feishu custom bot: base64 of HmacSHA256 keyed by "timestamp\nsecret" over an empty message. */
export function feishuBotSignature(secret: string, timestampS: string): string {
  return createHmac('sha256', Buffer.from(`${timestampS}\n${secret}`, 'utf8'))
    .update(Buffer.alloc(0))
    .digest('base64');
}

/** Feishu callbacks' X-Lark-Signature: sha256 hex of timestamp ‖ nonce ‖ encrypt key ‖ raw body. */
export function larkSignature(timestamp: string, nonce: string, encryptKey: string, rawBody: string): string {
  return createHash('sha256')
    .update(
      Buffer.concat([Buffer.from(timestamp + nonce + encryptKey, 'utf8'), Buffer.from(rawBody, 'utf8')]),
    )
    .digest('hex');
}

/** Feishu's legacy card callback: sha1 hex of timestamp ‖ nonce ‖ verification token ‖ raw body. */
export function larkLegacyCardSignature(
  timestamp: string,
  nonce: string,
  verificationToken: string,
  rawBody: string,
): string {
  return createHash('sha1')
    .update(
      Buffer.concat([
        Buffer.from(timestamp + nonce + verificationToken, 'utf8'),
        Buffer.from(rawBody, 'utf8'),
      ]),
    )
    .digest('hex');
}

// --- Shape helpers -------------------------------------------------------------------------------------

const isRecord = (x: unknown): x is Record<string, any> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const text = (x: unknown): x is string => typeof x === 'string' && x.trim() !== '';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const httpUrl = (x: unknown) => typeof x === 'string' && /^https?:\/\/\S+$/.test(x);

function sameText(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isJson(request: VendorRequest): boolean {
  return String(request.headers['content-type'] ?? '').startsWith('application/json');
}

/** Within `toleranceMs` of the receiver's clock, as the robots' one-hour window is checked. */
function fresh(stampMs: number, toleranceMs: number): boolean {
  return Number.isFinite(stampMs) && Math.abs(Date.now() - stampMs) <= toleranceMs;
}

const HOUR_MS = 3_600_000;

// --- Our generic webhook --------------------------------------------------------------------------------

/** A handler's webhook receiver that verifies our signature before reading the body, as the README asks. */
export function webhookReceiver(options: { path: string; secret: string }): VerifyingVendor {
  return new VerifyingVendor().route('POST', options.path, (request) => {
    const signature = request.headers['x-matterflow-signature'];
    if (!sameText(signature, matterflowWebhookSignature(options.secret, request.raw))) {
      return refuse('bad signature', { status: 401, json: { error: 'invalid signature' } });
    }
    const body = request.body;
    const shapeOk =
      isJson(request) &&
      isRecord(body) &&
      text(body.type) &&
      isRecord(body.matter) &&
      text(body.matter.id) &&
      text(body.matter.title) &&
      isRecord(body.handler) &&
      text(body.handler.id) &&
      Array.isArray(body.actions) &&
      body.actions.every((a: unknown) => isRecord(a) && text(a.action) && httpUrl(a.url)) &&
      isRecord(body.data) &&
      text(body.idempotencyKey) &&
      request.headers['idempotency-key'] === body.idempotencyKey &&
      !Number.isNaN(Date.parse(body.sentAt));
    if (!shapeOk) return refuse('body shape', { status: 400, json: { error: 'unexpected body' } });
    return accept({ status: 204, text: '' });
  });
}

// --- WeCom ----------------------------------------------------------------------------------------------

export interface WecomAccount {
  corpId: string;
  corpSecret: string;
  agentId: number;
  /** The group robot's webhook key. */
  robotKey: string;
}

// Error codes: https://developer.work.weixin.qq.com/document/path/90313 (全局错误码)
const wecomError = (errcode: number, errmsg: string): VendorReply => ({ json: { errcode, errmsg } });

/** WeCom's gettoken, message/send (app) and webhook/send (group robot). */
export function wecomVendor(account: WecomAccount): VerifyingVendor {
  const issued = new Set<string>();
  return new VerifyingVendor()
    .route('GET', '/cgi-bin/gettoken', (request) => {
      if (request.query.corpid !== account.corpId) {
        return refuse('corpid', wecomError(40013, 'invalid corpid'));
      }
      if (!sameText(request.query.corpsecret, account.corpSecret)) {
        return refuse('corpsecret', wecomError(40001, 'invalid credential'));
      }
      const token = `wecom-token-${issued.size + 1}`;
      issued.add(token);
      return accept({ json: { errcode: 0, errmsg: 'ok', access_token: token, expires_in: 7200 } });
    })
    .route('POST', '/cgi-bin/message/send', (request) => {
      if (!issued.has(request.query.access_token ?? '')) {
        return refuse('access_token', wecomError(40014, 'invalid access_token'));
      }
      const body = request.body;
      if (!isRecord(body) || body.agentid !== account.agentId) {
        return refuse('agentid', wecomError(40056, 'invalid agentid'));
      }
      const problem = wecomAppMessageProblem(body);
      if (problem) return refuse(problem, wecomError(40058, `invalid Request Parameter: ${problem}`));
      return accept({
        json: {
          errcode: 0,
          errmsg: 'ok',
          invaliduser: '',
          msgid: `msg-${request.at}`,
          ...(body.msgtype === 'template_card' ? { response_code: `rc-${request.at}` } : {}),
        },
      });
    })
    .route('POST', '/cgi-bin/webhook/send', (request) => {
      if (!sameText(request.query.key, account.robotKey)) {
        return refuse('key', wecomError(93000, 'invalid webhook url, hint: [robot key not found]'));
      }
      const problem = wecomMarkdownProblem(request.body, 4096);
      if (problem) return refuse(problem, wecomError(40058, `invalid Request Parameter: ${problem}`));
      return accept({ json: { errcode: 0, errmsg: 'ok' } });
    });
}

// https://developer.work.weixin.qq.com/document/path/90236 (发送应用消息)
function wecomAppMessageProblem(body: Record<string, any>): string | null {
  if (!text(body.touser)) return 'touser';
  if (body.msgtype === 'markdown') return wecomMarkdownProblem(body, 2048);
  if (body.msgtype !== 'template_card') return `msgtype ${String(body.msgtype)}`;
  const card = body.template_card;
  if (!isRecord(card) || card.card_type !== 'button_interaction') return 'card_type';
  if (!text(card.main_title?.title) && !text(card.sub_title_text)) return 'main_title or sub_title_text';
  if (typeof card.task_id !== 'string' || !/^[A-Za-z0-9_\-@]{1,128}$/.test(card.task_id)) return 'task_id';
  const buttons = card.button_list;
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 6) return 'button_list';
  for (const b of buttons) {
    if (!isRecord(b) || !text(b.text)) return 'button text';
    if (b.type === 1 ? !httpUrl(b.url) : !text(b.key) || bytes(b.key) > 1024) return 'button key or url';
  }
  const rows = card.horizontal_content_list ?? [];
  if (!Array.isArray(rows) || rows.length > 6) return 'horizontal_content_list';
  for (const row of rows) {
    if (!isRecord(row) || !text(row.keyname) || (row.type === 1 && !httpUrl(row.url))) return 'content row';
  }
  if (card.card_action !== undefined && !(card.card_action.type === 1 && httpUrl(card.card_action.url))) {
    return 'card_action';
  }
  return null;
}

function wecomMarkdownProblem(body: unknown, maxBytes: number): string | null {
  if (!isRecord(body) || body.msgtype !== 'markdown') return 'msgtype';
  const content = body.markdown?.content;
  if (!text(content)) return 'markdown.content empty';
  if (bytes(content) > maxBytes) return `markdown.content exceed max length ${maxBytes}`;
  return null;
}

// --- DingTalk -------------------------------------------------------------------------------------------

export interface DingtalkAccount {
  robotToken: string;
  robotSecret: string;
  appKey: string;
  appSecret: string;
  agentId: number;
}

// Robot refusals: https://open.dingtalk.com/document/robots/customize-robot-security-settings
const dingtalkError = (errcode: number, errmsg: string): VendorReply => ({ json: { errcode, errmsg } });

/** DingTalk's custom robot (oapi), the new API's app token and the old API's work notification. */
export function dingtalkVendor(account: DingtalkAccount): VerifyingVendor {
  const issued = new Set<string>();
  return new VerifyingVendor()
    .route('POST', '/robot/send', (request) => {
      const { access_token: token, timestamp, sign } = request.query;
      if (!sameText(token, account.robotToken)) {
        return refuse('access_token', dingtalkError(300001, 'token is not exist'));
      }
      if (!/^\d{13}$/.test(timestamp ?? '') || !fresh(Number(timestamp), HOUR_MS)) {
        return refuse('timestamp', dingtalkError(310000, 'invalid timestamp'));
      }
      if (!sameText(sign, dingtalkRobotSignature(account.robotSecret, timestamp!))) {
        return refuse('sign', dingtalkError(310000, 'sign not match'));
      }
      const problem = isJson(request) ? dingtalkRobotMessageProblem(request.body) : 'content-type';
      if (problem) return refuse(problem, dingtalkError(40035, `缺少参数 ${problem}`));
      return accept({ json: { errcode: 0, errmsg: 'ok' } });
    })
    .route('POST', '/v1.0/oauth2/accessToken', (request) => {
      const body = request.body;
      if (!isRecord(body) || body.appKey !== account.appKey || !sameText(body.appSecret, account.appSecret)) {
        return refuse('app credentials', {
          status: 400,
          json: { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret' },
        });
      }
      const token = `ding-token-${issued.size + 1}`;
      issued.add(token);
      return accept({ json: { accessToken: token, expireIn: 7200 } });
    })
    .route('POST', '/topapi/message/corpconversation/asyncsend_v2', (request) => {
      if (!issued.has(request.query.access_token ?? '')) {
        return refuse('access_token', dingtalkError(40014, '不合法的access_token'));
      }
      const body = request.body;
      if (!isRecord(body) || body.agent_id !== account.agentId) {
        return refuse('agent_id', dingtalkError(40035, '缺少参数 agent_id'));
      }
      const problem = dingtalkWorkMessageProblem(body);
      if (problem) return refuse(problem, dingtalkError(40035, `缺少参数 ${problem}`));
      return accept({ json: { errcode: 0, errmsg: 'ok', task_id: 256271667526, request_id: 'req-1' } });
    });
}

// https://open.dingtalk.com/document/robots/custom-robot-access (消息类型及数据格式)
function dingtalkRobotMessageProblem(body: unknown): string | null {
  if (!isRecord(body)) return 'json';
  if (body.msgtype === 'markdown') {
    return text(body.markdown?.title) && text(body.markdown?.text) ? null : 'markdown';
  }
  if (body.msgtype !== 'actionCard') return `msgtype ${String(body.msgtype)}`;
  const card = body.actionCard;
  if (!isRecord(card) || !text(card.title) || !text(card.text)) return 'actionCard';
  if (card.singleTitle !== undefined) {
    return text(card.singleTitle) && httpUrl(card.singleURL) ? null : 'singleURL';
  }
  const btns = card.btns;
  const btnsOk =
    Array.isArray(btns) && btns.length > 0 && btns.every((b) => text(b?.title) && httpUrl(b?.actionURL));
  return btnsOk ? null : 'btns';
}

// https://open.dingtalk.com/document/orgapp/asynchronous-sending-of-enterprise-session-messages
function dingtalkWorkMessageProblem(body: Record<string, any>): string | null {
  if (typeof body.userid_list !== 'string' || !/^[^,]+(,[^,]+){0,99}$/.test(body.userid_list)) {
    return 'userid_list';
  }
  const msg = body.msg;
  if (!isRecord(msg) || bytes(JSON.stringify(msg)) > 2048) return 'msg';
  if (msg.msgtype === 'markdown')
    return text(msg.markdown?.title) && text(msg.markdown?.text) ? null : 'markdown';
  if (msg.msgtype !== 'action_card') return `msgtype ${String(msg.msgtype)}`;
  const card = msg.action_card;
  if (!isRecord(card) || !text(card.title) || !text(card.markdown)) return 'action_card';
  if (card.single_title !== undefined) {
    return text(card.single_title) && httpUrl(card.single_url) ? null : 'single_url';
  }
  const list = card.btn_json_list;
  const listOk =
    Array.isArray(list) && list.length > 0 && list.every((b) => text(b?.title) && httpUrl(b?.action_url));
  return listOk ? null : 'btn_json_list';
}

// --- Feishu ---------------------------------------------------------------------------------------------

export interface FeishuAccount {
  appId: string;
  appSecret: string;
  /** The custom bot's webhook token, the last segment of its hook URL. */
  botToken: string;
  botSecret: string;
}

const RECEIVE_ID_TYPES = new Set(['open_id', 'union_id', 'user_id', 'email', 'chat_id']);

/** Feishu's tenant_access_token, im/v1/messages (app bot) and bot/v2/hook (custom bot). */
export function feishuVendor(account: FeishuAccount): VerifyingVendor {
  const issued = new Set<string>();
  return (
    new VerifyingVendor()
      .route('POST', '/open-apis/auth/v3/tenant_access_token/internal', (request) => {
        const body = request.body;
        if (
          !isRecord(body) ||
          body.app_id !== account.appId ||
          !sameText(body.app_secret, account.appSecret)
        ) {
          return refuse('app credentials', { json: { code: 10014, msg: 'app secret invalid' } });
        }
        const token = `t-feishu-${issued.size + 1}`;
        issued.add(token);
        return accept({ json: { code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 } });
      })
      // https://open.feishu.cn/document/server-docs/im-v1/message/create
      .route('POST', '/open-apis/im/v1/messages', (request) => {
        const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
        if (!bearer || !issued.has(bearer)) {
          return refuse('tenant_access_token', {
            status: 400,
            json: { code: 99991663, msg: 'Invalid access token for authorization.' },
          });
        }
        const problem = feishuAppMessageProblem(request);
        if (problem) {
          return refuse(problem, {
            status: 400,
            json: { code: 230001, msg: `invalid request parameter: ${problem}` },
          });
        }
        return accept({
          json: { code: 0, msg: 'success', data: { message_id: 'om_dc13264520392913993dd051dba21dcf' } },
        });
      })
      // https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot (签名校验, 19021)
      .route('POST', `/open-apis/bot/v2/hook/${account.botToken}`, (request) => {
        const body = request.body;
        const timestamp = isRecord(body) ? String(body.timestamp ?? '') : '';
        const signed =
          /^\d{10}$/.test(timestamp) &&
          fresh(Number(timestamp) * 1000, HOUR_MS) &&
          sameText(body.sign, feishuBotSignature(account.botSecret, timestamp));
        if (!signed) {
          return refuse('sign', {
            json: {
              code: 19021,
              msg: 'sign match fail or timestamp is not within one hour from current time',
            },
          });
        }
        const shapeOk =
          isJson(request) &&
          bytes(request.raw) <= 20 * 1024 &&
          body.msg_type === 'interactive' &&
          feishuCardProblem(body.card) === null;
        if (!shapeOk) return refuse('body shape', { json: { code: 9499, msg: 'Bad Request', data: {} } });
        return accept({
          json: { StatusCode: 0, StatusMessage: 'success', code: 0, data: {}, msg: 'success' },
        });
      })
  );
}

function feishuAppMessageProblem(request: VendorRequest): string | null {
  if (!isJson(request)) return 'content-type';
  if (!RECEIVE_ID_TYPES.has(request.query.receive_id_type ?? '')) return 'receive_id_type';
  const body = request.body;
  if (!isRecord(body) || !text(body.receive_id)) return 'receive_id';
  if (body.uuid !== undefined && (typeof body.uuid !== 'string' || body.uuid.length > 50)) return 'uuid';
  if (body.msg_type !== 'interactive' || typeof body.content !== 'string') return 'msg_type or content';
  try {
    return feishuCardProblem(JSON.parse(body.content));
  } catch {
    return 'content is not JSON';
  }
}

// https://open.feishu.cn/document/feishu-cards/card-components/interactive-components/button (JSON 1.0)
function feishuCardProblem(card: unknown): string | null {
  if (!isRecord(card) || !Array.isArray(card.elements) || card.elements.length === 0) return 'card elements';
  if (card.header !== undefined && !text(card.header?.title?.content)) return 'card header';
  for (const element of card.elements) {
    if (!isRecord(element) || !text(element.tag)) return 'element tag';
    if (element.tag !== 'action') continue;
    for (const button of element.actions ?? []) {
      if (button?.tag !== 'button' || !text(button.text?.content)) return 'button text';
      if (button.url !== undefined && !httpUrl(button.url)) return 'button url';
    }
  }
  return null;
}

// --- Slack ----------------------------------------------------------------------------------------------

/** Slack's Web API under `/api`, so a channel's base URL is `${url}/api`. */
export function slackVendor(botToken: string): VerifyingVendor {
  // https://docs.slack.dev/reference/methods/chat.postMessage (errors: not_authed, invalid_auth, invalid_blocks)
  return new VerifyingVendor().route('POST', '/api/chat.postMessage', (request) => {
    const authorization = request.headers.authorization;
    if (!authorization) return refuse('no token', { json: { ok: false, error: 'not_authed' } });
    if (!sameText(authorization, `Bearer ${botToken}`)) {
      return refuse('token', { json: { ok: false, error: 'invalid_auth' } });
    }
    const body = request.body;
    if (!isJson(request) || !isRecord(body))
      return refuse('body', { json: { ok: false, error: 'invalid_arguments' } });
    if (!text(body.channel)) return refuse('channel', { json: { ok: false, error: 'channel_not_found' } });
    if (!text(body.text) && !Array.isArray(body.blocks))
      return refuse('text', { json: { ok: false, error: 'no_text' } });
    const problem = Array.isArray(body.blocks) ? slackBlocksProblem(body.blocks) : null;
    if (problem) return refuse(problem, { json: { ok: false, error: 'invalid_blocks', errors: [problem] } });
    return accept({ json: { ok: true, channel: 'D024BE91L', ts: '1503435956.000247', message: {} } });
  });
}

const plainText = (x: any, max: number) => x?.type === 'plain_text' && text(x.text) && x.text.length <= max;

// https://docs.slack.dev/reference/block-kit/blocks and .../block-elements/button-element
function slackBlocksProblem(blocks: unknown[]): string | null {
  if (blocks.length > 50) return 'more than 50 blocks';
  for (const [i, block] of blocks.entries()) {
    const at = `/blocks/${i}`;
    if (!isRecord(block)) return `${at} is not an object`;
    if (block.type === 'header' && !plainText(block.text, 150)) return `${at}/text`;
    if (block.type === 'context') {
      const n = Array.isArray(block.elements) ? block.elements.length : 0;
      if (n < 1 || n > 10) return `${at}/elements`;
    }
    if (block.type === 'section') {
      const fields = block.fields;
      const textOk = block.text === undefined || (text(block.text.text) && block.text.text.length <= 3000);
      const fieldsOk =
        fields === undefined ||
        (Array.isArray(fields) &&
          fields.length <= 10 &&
          fields.every((f) => text(f?.text) && f.text.length <= 2000));
      if (!textOk || !fieldsOk || (block.text === undefined && fields === undefined)) return `${at} section`;
    }
    if (block.type === 'actions') {
      const elements = block.elements;
      if (!Array.isArray(elements) || elements.length < 1 || elements.length > 25) return `${at}/elements`;
      const ids = new Set<string>();
      for (const [j, button] of elements.entries()) {
        const id = button?.action_id;
        if (typeof id !== 'string' || id.length > 255) return `${at}/elements/${j}/action_id`;
        // "Should be unique among all other action_ids in the containing block": Slack refuses a repeat.
        if (ids.has(id))
          return `action_id '${id}' already exists [json-pointer:${at}/elements/${j}/action_id]`;
        ids.add(id);
        if (button.type !== 'button' || !plainText(button.text, 75)) return `${at}/elements/${j}/text`;
        if (button.url !== undefined && (!httpUrl(button.url) || button.url.length > 3000)) {
          return `${at}/elements/${j}/url`;
        }
        if (button.value !== undefined && String(button.value).length > 2000)
          return `${at}/elements/${j}/value`;
        if (button.style !== undefined && !['primary', 'danger'].includes(button.style)) {
          return `${at}/elements/${j}/style`;
        }
      }
    }
  }
  return null;
}

// --- Microsoft Teams (Workflows) ------------------------------------------------------------------------

/**
 * A "post to a channel when a webhook request is received" workflow. Its URL carries a shared access
 * signature in `sig`; Logic Apps refuses a wrong one with 401 DirectApiInvalidAuthorizationSignature.
 * https://learn.microsoft.com/en-us/azure/logic-apps/logic-apps-securing-a-logic-app#generate-shared-access-signatures-sas
 */
export function teamsWorkflowVendor(options: { path: string; sig: string }): VerifyingVendor {
  return new VerifyingVendor().route('POST', options.path, (request) => {
    if (!request.query.sig) {
      return refuse('no sig', {
        status: 401,
        json: {
          error: { code: 'DirectApiAuthorizationRequired', message: 'The request must be authenticated.' },
        },
      });
    }
    if (!sameText(request.query.sig, options.sig)) {
      return refuse('sig', {
        status: 401,
        json: {
          error: {
            code: 'DirectApiInvalidAuthorizationSignature',
            message: 'The provided authorization signature is not valid.',
          },
        },
      });
    }
    if (!isJson(request) || !teamsMessageOk(request.body)) {
      return refuse('body shape', {
        status: 400,
        json: {
          error: { code: 'TriggerInputSchemaMismatch', message: 'The input body does not match the schema.' },
        },
      });
    }
    return accept({ status: 202, text: '' });
  });
}

// https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
function teamsMessageOk(body: unknown): boolean {
  if (!isRecord(body) || body.type !== 'message' || !Array.isArray(body.attachments)) return false;
  return (
    body.attachments.length > 0 &&
    body.attachments.every(
      (a: any) =>
        a?.contentType === 'application/vnd.microsoft.card.adaptive' &&
        a.content?.type === 'AdaptiveCard' &&
        text(a.content.version) &&
        Array.isArray(a.content.body) &&
        (a.content.actions ?? []).every(
          (x: any) => x?.type === 'Action.OpenUrl' && text(x.title) && httpUrl(x.url),
        ),
    )
  );
}
