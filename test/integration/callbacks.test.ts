import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wecomButtonKey } from '../../src/channels/wecom.js';
import { verifyDingtalkCallback } from '../../src/security/inbound/dingtalk.js';
import { encryptFeishu } from '../../src/security/inbound/feishu.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import {
  feishuCardAction as cardAction,
  type DingtalkApp,
  dingtalkCardCallback,
  dingtalkSigned,
  feishuSigned,
  nowS,
  slackBlockAction,
  slackSigned,
  type WecomApp,
  wecomCardEvent,
  wecomSigned,
  wecomUrlVerification,
} from '../support/vendor-callbacks.js';

const SLACK_SIGNING_SECRET = 'slack-signing-secret-for-tests';
const WECOM_CORP_ID = 'wwcallbacktest';
const WECOM_AGENT_ID = '1000002';
const WECOM_TOKEN = 'wecomCallbackToken';
const WECOM_AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const FEISHU_ENCRYPT_KEY = 'feishu-encrypt-key-for-tests';
const FEISHU_VERIFICATION_TOKEN = 'feishu-verification-token';
const DINGTALK_APP_KEY = 'dingcallbacktests';
const DINGTALK_TOKEN = 'dingtalkCallbackToken';
const DINGTALK_AES_KEY = 'Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7';
/** Nothing listens here: a send to a vendor would fail on this machine instead of leaving it. */
const DEAD_URL = 'http://127.0.0.1:1';
const APP_CREDENTIALS = {
  SLACK_BOT_TOKEN: 'xoxb-callback-tests',
  SLACK_BASE_URL: DEAD_URL,
  WECOM_CORP_ID,
  WECOM_APP_SECRET: 'wecom-app-secret',
  WECOM_AGENT_ID,
  WECOM_BASE_URL: DEAD_URL,
  FEISHU_APP_ID: 'cli_callbacktests',
  FEISHU_APP_SECRET: 'feishu-app-secret',
  FEISHU_BASE_URL: DEAD_URL,
  DINGTALK_APP_KEY,
  DINGTALK_APP_SECRET: 'dingtalk-app-secret',
  DINGTALK_AGENT_ID: '2839445214',
  DINGTALK_OAPI_URL: DEAD_URL,
  DINGTALK_API_URL: DEAD_URL,
};

interface Person {
  id: string;
  token: string;
  slack: string;
  wecom: string;
  feishuUserId: string;
  feishuOpenId: string;
  dingtalk: string;
}

interface Answer {
  status: number;
  body: any;
}

const STALE_S = 301;

/** Changes one character of `body` inside `within` (by default the whole body), keeping the bytes' count. */
function tamper(body: string, within = body): string {
  const at = body.indexOf(within) + Math.floor(within.length / 2);
  const swapped = body[at] === 'A' ? 'B' : 'A';
  return body.slice(0, at) + swapped + body.slice(at + 1);
}

async function post(stack: TestStack, path: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${stack.baseUrl}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('application/json');
  return { status: res.status, body: json ? JSON.parse(text) : text } as Answer;
}

async function sourceSystem(stack: TestStack) {
  const code = `cb-${randomUUID().slice(0, 8)}`;
  return { code, token: await issueToken(stack, code, 'source') };
}

/** A handler whose first channel is the test's webhook receiver (so notices and their links land there) and who also has Slack, WeCom, Feishu and DingTalk ids. */
async function person(stack: TestStack): Promise<Person> {
  const { id, token } = await createHandler(stack);
  const tag = randomUUID().replace(/-/g, '').slice(0, 10);
  const p = {
    id,
    token,
    slack: `U${tag.toUpperCase()}`,
    wecom: `WeCom.${tag}`,
    feishuUserId: `fs${tag}`,
    feishuOpenId: `ou_${tag}`,
    dingtalk: `manager${tag}`,
  };
  const patched = await call(stack, 'PATCH', `/v1/handlers/${id}`, {
    token: stack.adminToken,
    body: {
      channels: [
        { type: 'webhook', address: stack.receiver.addressFor(id) },
        { type: 'slack', address: p.slack },
        { type: 'wecom', address: p.wecom },
        { type: 'feishu', address: p.feishuUserId },
        { type: 'dingtalk', address: p.dingtalk },
      ],
    },
  });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  return p;
}

async function push(
  stack: TestStack,
  source: { code: string; token: string },
  handlerId: string,
): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: source.token,
    body: { source: source.code, externalId: randomUUID(), title: 'Approve the loan', handlerId },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function matter(stack: TestStack, id: string) {
  const res = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
  expect(res.status).toBe(200);
  return res.body as { status: string; completedBy: string | null; events: { type: string }[] };
}

async function completedBy(stack: TestStack, id: string, handlerId: string) {
  const done = await eventually(async () => {
    const m = await matter(stack, id);
    return m.status === 'completed' ? m : undefined;
  }, `matter ${id} completed`);
  expect(done.completedBy).toBe(handlerId);
  const audit = await call(stack, 'GET', `/v1/audit?entityType=matter&entityId=${id}`, {
    token: stack.adminToken,
  });
  expect(audit.body.items.find((r: { action: string }) => r.action === 'matter.completed')).toMatchObject({
    actorId: handlerId,
  });
}

/** Exactly one completion in the matter's events and in the audit trail. */
async function completedOnce(stack: TestStack, id: string) {
  const m = await matter(stack, id);
  expect(m.events.filter((e) => e.type === 'matter.completed')).toHaveLength(1);
  const rows = await stack.sql`
    select 1 from audit_log where entity_id = ${id} and action = 'matter.completed'`;
  expect(rows).toHaveLength(1);
}

/** The refusal, and the matter still open with no completion recorded. */
async function refusedAndUnchanged(
  stack: TestStack,
  id: string,
  answer: Answer,
  status: number,
  code: string,
) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
  const after = await matter(stack, id);
  expect(after.status).toBe('open');
  expect(after.events.filter((e) => e.type === 'matter.completed')).toEqual([]);
}

// --- Slack -----------------------------------------------------------------------------------------

const slackPayload = (userId: string, matterId: string, actionId = 'complete') =>
  slackBlockAction(userId, matterId, {
    team: 'CALLBACK',
    actionId,
    responseUrl: 'https://hooks.slack.com/actions/T0CALLBACK/1/abc',
  });

const slackRequest = (payload: unknown, timestamp = nowS()) =>
  slackSigned(SLACK_SIGNING_SECRET, payload, timestamp);

const slack = (stack: TestStack, request: { body: string; headers: Record<string, string> }) =>
  post(stack, '/v1/callbacks/slack', request.body, request.headers);

// --- WeCom -----------------------------------------------------------------------------------------

const WECOM: WecomApp = {
  corpId: WECOM_CORP_ID,
  agentId: WECOM_AGENT_ID,
  token: WECOM_TOKEN,
  aesKey: WECOM_AES_KEY,
};

const wecomEvent = (fromUser: string, eventKey: string) => wecomCardEvent(WECOM, fromUser, eventKey);

const wecomRequest = (message: string, timestamp = nowS()) => wecomSigned(WECOM, message, { timestamp });

const wecom = (stack: TestStack, request: { path: string; body: string }) =>
  post(stack, request.path, request.body, { 'content-type': 'text/xml' });

/** The action link the matter's assignment notice carried for `action`. */
async function noticeLink(stack: TestStack, matterId: string, recipientId: string, action: string) {
  const notice = await stack.receiver.waitFor(
    (h) => h.body.matter.id === matterId && h.body.type === 'matter.assigned' && h.path.endsWith(recipientId),
    `the assignment of ${matterId} at ${recipientId}`,
  );
  const link = notice.body.actions.find((a) => a.action === action);
  if (!link) throw new Error(`no ${action} link in ${JSON.stringify(notice.body.actions)}`);
  return link as { action: string; url: string };
}

/** The complete link of the matter's assignment notice, as WeCom's button key. */
async function wecomKey(stack: TestStack, matterId: string, recipientId: string, action = 'complete') {
  return wecomButtonKey(await noticeLink(stack, matterId, recipientId, action));
}

// --- Feishu ----------------------------------------------------------------------------------------

const feishuCardAction = (
  p: Pick<Person, 'feishuUserId' | 'feishuOpenId'>,
  value: unknown,
  verificationToken = FEISHU_VERIFICATION_TOKEN,
) =>
  cardAction({
    appId: APP_CREDENTIALS.FEISHU_APP_ID,
    verificationToken,
    userId: p.feishuUserId,
    openId: p.feishuOpenId,
    value,
  });

const feishuRequest = (payload: unknown, timestamp = nowS()) =>
  feishuSigned(FEISHU_ENCRYPT_KEY, payload, { timestamp });

const feishu = (stack: TestStack, request: { body: string; headers: Record<string, string> }) =>
  post(stack, '/v1/callbacks/feishu', request.body, request.headers);

// --- DingTalk --------------------------------------------------------------------------------------

const DINGTALK: DingtalkApp = { appKey: DINGTALK_APP_KEY, token: DINGTALK_TOKEN, aesKey: DINGTALK_AES_KEY };

/** The params the card's complete button posts: the action link's token, as the card was sent with it. */
async function dingtalkComplete(stack: TestStack, matterId: string, recipientId: string) {
  const { url } = await noticeLink(stack, matterId, recipientId, 'complete');
  return { action: 'complete', token: url.slice(url.lastIndexOf('/') + 1) };
}

const dingtalkRequest = (payload: unknown, timestampMs = Date.now()) =>
  dingtalkSigned(DINGTALK, payload, { timestampMs });

const dingtalk = (stack: TestStack, request: { path: string; body: string }) =>
  post(stack, request.path, request.body, { 'content-type': 'application/json' });

/** DingTalk's reply check: signed with the token and decrypting to `success` for this app. */
function expectEncryptedSuccess(answer: Answer) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const { msg_signature, timeStamp, nonce, encrypt } = answer.body;
  const opened = verifyDingtalkCallback({
    ...DINGTALK,
    msgSignature: msg_signature,
    timestamp: timeStamp,
    nonce,
    encrypt,
    nowSeconds: Date.now() / 1000,
  });
  expect(opened).toMatchObject({ ok: true, message: 'success' });
}

// ---------------------------------------------------------------------------------------------------

describe('vendor callbacks with every secret configured', () => {
  let stack: TestStack;
  let source: { code: string; token: string };
  let alice: Person;
  let bob: Person;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        ...APP_CREDENTIALS,
        SLACK_SIGNING_SECRET,
        WECOM_CALLBACK_TOKEN: WECOM_TOKEN,
        WECOM_ENCODING_AES_KEY: WECOM_AES_KEY,
        FEISHU_ENCRYPT_KEY,
        FEISHU_VERIFICATION_TOKEN,
        DINGTALK_CALLBACK_TOKEN: DINGTALK_TOKEN,
        DINGTALK_CALLBACK_AES_KEY: DINGTALK_AES_KEY,
      },
    });
    source = await sourceSystem(stack);
    alice = await person(stack);
    bob = await person(stack);
  });
  afterAll(async () => stack?.close());

  describe('Slack', () => {
    it('completes the matter named by the complete button, as the handler whose Slack id pressed it, and audits it', async () => {
      const id = await push(stack, source, alice.id);
      const answer = await slack(stack, slackRequest(slackPayload(alice.slack, id)));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      await completedBy(stack, id, alice.id);
    });

    it('answers the presser in their own language: Chinese for a zh-CN handler, English for an en one', async () => {
      const zhId = await push(stack, source, alice.id);
      const zh = await slack(stack, slackRequest(slackPayload(alice.slack, zhId)));
      expect(zh.body.text).toBe(`已完成：事项 ${zhId}`);
      const carol = await person(stack);
      const patched = await call(stack, 'PATCH', `/v1/handlers/${carol.id}`, {
        token: stack.adminToken,
        body: { locale: 'en' },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      const enId = await push(stack, source, carol.id);
      const en = await slack(stack, slackRequest(slackPayload(carol.slack, enId)));
      expect(en.body.text).toBe(`Completed: matter ${enId}`);
    });

    it('refuses the same request sent again with 409 REPLAYED and records nothing more', async () => {
      const id = await push(stack, source, alice.id);
      const request = slackRequest(slackPayload(alice.slack, id));
      expect((await slack(stack, request)).status).toBe(200);
      await completedBy(stack, id, alice.id);
      const again = await slack(stack, request);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('REPLAYED');
      await completedOnce(stack, id);
    });

    it('refuses a body with one byte changed with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const request = slackRequest(slackPayload(alice.slack, id));
      const answer = await slack(stack, { ...request, body: tamper(request.body, id) });
      await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
    });

    it('refuses a request signed more than five minutes ago with 401 STALE_REQUEST', async () => {
      const id = await push(stack, source, alice.id);
      const answer = await slack(stack, slackRequest(slackPayload(alice.slack, id), nowS() - STALE_S));
      await refusedAndUnchanged(stack, id, answer, 401, 'STALE_REQUEST');
    });

    it('refuses a request without a signature, whatever bearer token it carries, with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const { body } = slackRequest(slackPayload(alice.slack, id));
      const answer = await post(stack, '/v1/callbacks/slack', body, {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Bearer ${alice.token}`,
      });
      await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
    });

    it('refuses a Slack user nobody in the directory has with 403 UNKNOWN_SENDER', async () => {
      const id = await push(stack, source, alice.id);
      const answer = await slack(stack, slackRequest(slackPayload('U0NOBODY', id)));
      await refusedAndUnchanged(stack, id, answer, 403, 'UNKNOWN_SENDER');
    });

    it("refuses a press on someone else's matter with the action's own 403 NOT_YOUR_MATTER", async () => {
      const id = await push(stack, source, alice.id);
      const answer = await slack(stack, slackRequest(slackPayload(bob.slack, id)));
      await refusedAndUnchanged(stack, id, answer, 403, 'NOT_YOUR_MATTER');
    });

    it('refuses a body over 64 KiB with 413 BODY_TOO_LARGE', async () => {
      const request = slackRequest({ padding: 'x'.repeat(64 * 1024) });
      const answer = await slack(stack, request);
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe('BODY_TOO_LARGE');
    });

    it('answers a button that only opens its link with 200 and changes nothing', async () => {
      const id = await push(stack, source, alice.id);
      const answer = await slack(stack, slackRequest(slackPayload(alice.slack, id, 'exception')));
      expect(answer.status).toBe(200);
      expect((await matter(stack, id)).status).toBe('open');
    });
  });

  describe('WeCom', () => {
    it('answers the URL verification with the decrypted echostr', async () => {
      const path = wecomUrlVerification(WECOM, 'echo-4711');
      const res = await fetch(`${stack.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toBe('echo-4711');
    });

    it('refuses a URL verification signed with another token with 401 BAD_SIGNATURE', async () => {
      const path = wecomUrlVerification(WECOM, 'echo-4711', { token: 'another-token' });
      const res = await call(stack, 'GET', path);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('BAD_SIGNATURE');
    });

    it('completes the matter through the action link in the pressed button, as its handler, and answers an empty 200', async () => {
      const id = await push(stack, source, alice.id);
      const key = await wecomKey(stack, id, alice.id);
      const answer = await wecom(stack, wecomRequest(wecomEvent(alice.wecom, key)));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toBe('');
      await completedBy(stack, id, alice.id);
    });

    it('matches the WeCom userid ignoring case, as WeCom does', async () => {
      const id = await push(stack, source, alice.id);
      const key = await wecomKey(stack, id, alice.id);
      const answer = await wecom(stack, wecomRequest(wecomEvent(alice.wecom.toLowerCase(), key)));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      await completedBy(stack, id, alice.id);
    });

    it('refuses the same request sent again with 409 REPLAYED and records nothing more', async () => {
      const id = await push(stack, source, alice.id);
      const request = wecomRequest(wecomEvent(alice.wecom, await wecomKey(stack, id, alice.id)));
      expect((await wecom(stack, request)).status).toBe(200);
      await completedBy(stack, id, alice.id);
      const again = await wecom(stack, request);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('REPLAYED');
      await completedOnce(stack, id);
    });

    it('refuses a body with one byte of its ciphertext changed with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const request = wecomRequest(wecomEvent(alice.wecom, await wecomKey(stack, id, alice.id)));
      const answer = await wecom(stack, { ...request, body: tamper(request.body, request.encrypt) });
      await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
    });

    it('refuses a request signed more than five minutes ago with 401 STALE_REQUEST', async () => {
      const id = await push(stack, source, alice.id);
      const key = await wecomKey(stack, id, alice.id);
      const answer = await wecom(stack, wecomRequest(wecomEvent(alice.wecom, key), nowS() - STALE_S));
      await refusedAndUnchanged(stack, id, answer, 401, 'STALE_REQUEST');
    });

    it('refuses a WeCom user nobody in the directory has with 403 UNKNOWN_SENDER', async () => {
      const id = await push(stack, source, alice.id);
      const key = await wecomKey(stack, id, alice.id);
      const answer = await wecom(stack, wecomRequest(wecomEvent('nobody-here', key)));
      await refusedAndUnchanged(stack, id, answer, 403, 'UNKNOWN_SENDER');
    });

    it("refuses a press of someone else's button with 403 NOT_YOUR_MATTER and leaves their link usable", async () => {
      const id = await push(stack, source, alice.id);
      const key = await wecomKey(stack, id, alice.id);
      const answer = await wecom(stack, wecomRequest(wecomEvent(bob.wecom, key)));
      await refusedAndUnchanged(stack, id, answer, 403, 'NOT_YOUR_MATTER');
      expect((await wecom(stack, wecomRequest(wecomEvent(alice.wecom, key)))).status).toBe(200);
      await completedBy(stack, id, alice.id);
    });

    it('lets a stand-in complete the absent handler’s matter with the button sent to them, recorded as both', async () => {
      const absent = await person(stack);
      const standIn = await person(stack);
      const window = await call(stack, 'POST', `/v1/handlers/${absent.id}/delegations`, {
        token: absent.token,
        body: {
          delegateId: standIn.id,
          startsAt: new Date(Date.now() - 1000).toISOString(),
          endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      });
      expect(window.status, JSON.stringify(window.body)).toBe(201);
      const id = await push(stack, source, absent.id);
      const key = await wecomKey(stack, id, standIn.id);
      const answer = await wecom(stack, wecomRequest(wecomEvent(standIn.wecom, key)));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      await completedBy(stack, id, standIn.id);
      const [audit] = await stack.sql`
        select actor_id, acting_for from audit_log where entity_id = ${id} and action = 'matter.completed'`;
      expect(audit).toEqual({ actor_id: standIn.id, acting_for: absent.id });
    });

    it('answers other messages and events of the app with an empty 200 and acts on nothing', async () => {
      const message = `<xml><ToUserName><![CDATA[${WECOM_CORP_ID}]]></ToUserName><FromUserName><![CDATA[${alice.wecom}]]></FromUserName><CreateTime>${nowS()}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>${WECOM_AGENT_ID}</AgentID></xml>`;
      const answer = await wecom(stack, wecomRequest(message));
      expect(answer).toEqual({ status: 200, body: '' });
    });
  });

  describe('Feishu', () => {
    it('answers the encrypted url_verification with its challenge', async () => {
      const body = JSON.stringify({
        encrypt: encryptFeishu(
          FEISHU_ENCRYPT_KEY,
          JSON.stringify({
            challenge: 'ch-4711',
            token: FEISHU_VERIFICATION_TOKEN,
            type: 'url_verification',
          }),
        ),
      });
      const answer = await post(stack, '/v1/callbacks/feishu', body, { 'content-type': 'application/json' });
      expect(answer).toEqual({ status: 200, body: { challenge: 'ch-4711' } });
    });

    it('refuses a url_verification with another verification token with 401 BAD_SIGNATURE', async () => {
      const body = JSON.stringify({
        encrypt: encryptFeishu(
          FEISHU_ENCRYPT_KEY,
          JSON.stringify({ challenge: 'ch-4711', token: 'not-the-token', type: 'url_verification' }),
        ),
      });
      const answer = await post(stack, '/v1/callbacks/feishu', body, { 'content-type': 'application/json' });
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('BAD_SIGNATURE');
    });

    it('completes the matter named in the button value, as the handler with that Feishu user, and answers a toast', async () => {
      const id = await push(stack, source, alice.id);
      const answer = await feishu(
        stack,
        feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id })),
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      // Alice has the default locale of a new handler, zh-CN, and reads the toast in Chinese.
      expect(answer.body).toEqual({ toast: { type: 'success', content: `已完成：事项 ${id}` } });
      await completedBy(stack, id, alice.id);
    });

    it('refuses the same request sent again with 409 REPLAYED and records nothing more', async () => {
      const id = await push(stack, source, alice.id);
      const request = feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id }));
      expect((await feishu(stack, request)).status).toBe(200);
      await completedBy(stack, id, alice.id);
      const again = await feishu(stack, request);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('REPLAYED');
      await completedOnce(stack, id);
    });

    it('refuses a body with one byte changed with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const request = feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id }));
      const answer = await feishu(stack, { ...request, body: tamper(request.body) });
      await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
    });

    it('refuses a card action without the signature headers with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const { body } = feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id }));
      const answer = await post(stack, '/v1/callbacks/feishu', body, { 'content-type': 'application/json' });
      await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
    });

    it('refuses a request signed more than five minutes ago with 401 STALE_REQUEST', async () => {
      const id = await push(stack, source, alice.id);
      const answer = await feishu(
        stack,
        feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id }), nowS() - STALE_S),
      );
      await refusedAndUnchanged(stack, id, answer, 401, 'STALE_REQUEST');
    });

    it('refuses a Feishu user nobody in the directory has with 403 UNKNOWN_SENDER', async () => {
      const id = await push(stack, source, alice.id);
      const stranger = { feishuUserId: 'fs-stranger', feishuOpenId: 'ou_stranger' };
      const answer = await feishu(
        stack,
        feishuRequest(feishuCardAction(stranger, { action: 'complete', matterId: id })),
      );
      await refusedAndUnchanged(stack, id, answer, 403, 'UNKNOWN_SENDER');
    });

    it("refuses a press on someone else's matter with the action's own 403 NOT_YOUR_MATTER", async () => {
      const id = await push(stack, source, alice.id);
      const answer = await feishu(
        stack,
        feishuRequest(feishuCardAction(bob, { action: 'complete', matterId: id })),
      );
      await refusedAndUnchanged(stack, id, answer, 403, 'NOT_YOUR_MATTER');
    });

    it('refuses a press on a matter already completed with the action’s own 409 MATTER_NOT_OPEN', async () => {
      const id = await push(stack, source, alice.id);
      const first = await feishu(
        stack,
        feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id })),
      );
      expect(first.status).toBe(200);
      await completedBy(stack, id, alice.id);
      const second = await feishu(
        stack,
        feishuRequest(feishuCardAction(alice, { action: 'complete', matterId: id })),
      );
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('MATTER_NOT_OPEN');
    });
  });

  describe('DingTalk', () => {
    it('answers check_url with the encrypted, signed "success"', async () => {
      expectEncryptedSuccess(await dingtalk(stack, dingtalkRequest({ EventType: 'check_url' })));
    });

    it('completes the matter through the action link in the card callback, as the handler with that DingTalk userId, and answers the encrypted success', async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const answer = await dingtalk(stack, dingtalkRequest(dingtalkCardCallback(alice.dingtalk, params)));
      expectEncryptedSuccess(answer);
      await completedBy(stack, id, alice.id);
    });

    it('refuses the same request sent again with 409 REPLAYED and records nothing more', async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const request = dingtalkRequest(dingtalkCardCallback(alice.dingtalk, params));
      expectEncryptedSuccess(await dingtalk(stack, request));
      await completedBy(stack, id, alice.id);
      const again = await dingtalk(stack, request);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('REPLAYED');
      await completedOnce(stack, id);
    });

    it('refuses a body with one byte of its ciphertext changed with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const request = dingtalkRequest(dingtalkCardCallback(alice.dingtalk, params));
      const answer = await dingtalk(stack, { ...request, body: tamper(request.body, request.encrypt) });
      await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
    });

    it('refuses a push signed with another token with 401 BAD_SIGNATURE', async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const forged = dingtalkSigned(DINGTALK, dingtalkCardCallback(alice.dingtalk, params), {
        token: 'not-the-token',
      });
      await refusedAndUnchanged(stack, id, await dingtalk(stack, forged), 401, 'BAD_SIGNATURE');
    });

    it('refuses a push signed more than five minutes ago with 401 STALE_REQUEST', async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const request = dingtalkRequest(
        dingtalkCardCallback(alice.dingtalk, params),
        Date.now() - STALE_S * 1000,
      );
      await refusedAndUnchanged(stack, id, await dingtalk(stack, request), 401, 'STALE_REQUEST');
    });

    it('refuses a DingTalk user nobody in the directory has with 403 UNKNOWN_SENDER', async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const answer = await dingtalk(stack, dingtalkRequest(dingtalkCardCallback('nobody-here', params)));
      await refusedAndUnchanged(stack, id, answer, 403, 'UNKNOWN_SENDER');
    });

    it("refuses a press of someone else's button with 403 NOT_YOUR_MATTER and leaves their link usable", async () => {
      const id = await push(stack, source, alice.id);
      const params = await dingtalkComplete(stack, id, alice.id);
      const answer = await dingtalk(stack, dingtalkRequest(dingtalkCardCallback(bob.dingtalk, params)));
      await refusedAndUnchanged(stack, id, answer, 403, 'NOT_YOUR_MATTER');
      expectEncryptedSuccess(
        await dingtalk(stack, dingtalkRequest(dingtalkCardCallback(alice.dingtalk, params))),
      );
      await completedBy(stack, id, alice.id);
    });

    it('answers the app’s other events with the encrypted success and acts on nothing', async () => {
      const id = await push(stack, source, alice.id);
      const event = { EventType: 'user_modify_org', UserId: [alice.dingtalk], TimeStamp: String(Date.now()) };
      expectEncryptedSuccess(await dingtalk(stack, dingtalkRequest(event)));
      expect((await matter(stack, id)).status).toBe('open');
    });
  });
});

describe('vendor callbacks without their secrets', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterAll(async () => stack?.close());

  it.each([
    ['POST', '/v1/callbacks/slack'],
    ['GET', '/v1/callbacks/wecom'],
    ['POST', '/v1/callbacks/wecom'],
    ['POST', '/v1/callbacks/feishu'],
    ['POST', '/v1/callbacks/dingtalk'],
  ])('%s %s answers 404 CALLBACK_NOT_CONFIGURED', async (method, path) => {
    const res = await call(stack, method, path, method === 'POST' ? { rawBody: '{}' } : {});
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CALLBACK_NOT_CONFIGURED');
  });
});

describe('Feishu callbacks with only the verification token', () => {
  let stack: TestStack;
  let source: { code: string; token: string };
  let alice: Person;

  const plain = (payload: unknown) =>
    post(stack, '/v1/callbacks/feishu', JSON.stringify(payload), { 'content-type': 'application/json' });

  beforeAll(async () => {
    stack = await startStack({ env: { ...APP_CREDENTIALS, FEISHU_VERIFICATION_TOKEN } });
    source = await sourceSystem(stack);
    alice = await person(stack);
  });
  afterAll(async () => stack?.close());

  it('answers the plain url_verification with its challenge', async () => {
    const answer = await plain({
      challenge: 'ch-1',
      token: FEISHU_VERIFICATION_TOKEN,
      type: 'url_verification',
    });
    expect(answer).toEqual({ status: 200, body: { challenge: 'ch-1' } });
  });

  it('completes the matter once, and refuses the same event_id again with 409 REPLAYED', async () => {
    const id = await push(stack, source, alice.id);
    const event = feishuCardAction(alice, { action: 'complete', matterId: id });
    expect((await plain(event)).status).toBe(200);
    await completedBy(stack, id, alice.id);
    const again = await plain(event);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('REPLAYED');
    await completedOnce(stack, id);
  });

  it('refuses another verification token with 401 BAD_SIGNATURE', async () => {
    const id = await push(stack, source, alice.id);
    const answer = await plain(feishuCardAction(alice, { action: 'complete', matterId: id }, 'forged'));
    await refusedAndUnchanged(stack, id, answer, 401, 'BAD_SIGNATURE');
  });

  it('refuses an event created more than five minutes ago with 401 STALE_REQUEST', async () => {
    const id = await push(stack, source, alice.id);
    const event = feishuCardAction(alice, { action: 'complete', matterId: id });
    event.header.create_time = String(Date.now() - STALE_S * 1000);
    await refusedAndUnchanged(stack, id, await plain(event), 401, 'STALE_REQUEST');
  });
});
