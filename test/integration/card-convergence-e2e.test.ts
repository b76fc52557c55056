/**
 * Cards converge end to end: the whole stack (API, worker, Temporal, Postgres) with a real prosody server
 * and loopback stand-ins for Slack, WeCom, Feishu and DingTalk. A matter offered to a group reaches every member on
 * their own channel; one member claims it and completes it from her XMPP client, and every card the
 * vendors let us edit is then brought up to date with the outcome, once. A matter that changes hands, or is
 * cancelled, has its earlier cards brought up to date the same way, and the new holder's card left live.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelByApprovedDelete } from '../support/change-requests.js';
import { FakeVendor, type VendorRequest } from '../support/fake-vendor.js';
import { type Prosody, startProsody } from '../support/prosody.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { Person } from '../support/xmpp-person.js';

const BOT = { username: 'matterflow', password: 'bot-secret' };
const ALICE = { username: 'alice', password: 'alice-secret' };
const SOURCE = `conv-${randomUUID().slice(0, 6)}`;

const SLACK_USER = 'U024BE7LH';
const SLACK_POSTED = { channel: 'D024BE91L', ts: '1503435956.000247' };
const WECOM_USER = 'zhangsan';
const WECOM_AGENT_ID = '1000002';
const WECOM_RESPONSE_CODE = 'rc-offer-7f3a';
const FEISHU_USER = 'ou_7d8a6e6df7621556ce0d21922b676706ccs';
const FEISHU_MESSAGE_ID = 'om_dc13264520392913993dd051dba21dcf';
const DINGTALK_USER = 'manager4974';
const DINGTALK_TEMPLATE = 'tpl-matter.schema';

const SLACK_POST = '/chat.postMessage';
const SLACK_UPDATE = '/chat.update';
const WECOM_TOKEN = '/cgi-bin/gettoken';
const WECOM_SEND = '/cgi-bin/message/send';
const WECOM_UPDATE = '/cgi-bin/message/update_template_card';
const FEISHU_TOKEN = '/open-apis/auth/v3/tenant_access_token/internal';
const FEISHU_SEND = '/open-apis/im/v1/messages';
const FEISHU_PATCH = `${FEISHU_SEND}/${FEISHU_MESSAGE_ID}`;
const DINGTALK_TOKEN = '/v1.0/oauth2/accessToken';
const DINGTALK_CARD = '/v1.0/im/interactiveCards';
const DINGTALK_CARD_SEND = `${DINGTALK_CARD}/send`;

let prosody: Prosody;
let slack: FakeVendor;
let wecom: FakeVendor;
let feishu: FakeVendor;
let dingtalk: FakeVendor;
let stack: TestStack;
let source: string;
let manager: string;
let reviewer: string;
let alicesPhone: Person;

/** Fresh scripts and an empty record at every fake for each test; the stack keeps its tokens cached. */
function script(): void {
  for (const fake of [slack, wecom, feishu, dingtalk]) fake.reset();
  slack
    .on('POST', SLACK_POST, { json: { ok: true, ...SLACK_POSTED, message: {} } })
    .on('POST', SLACK_UPDATE, (r) => ({ json: { ok: true, channel: r.body?.channel, ts: r.body?.ts } }));
  wecom
    .on('GET', WECOM_TOKEN, {
      json: { errcode: 0, errmsg: 'ok', access_token: 'wecom-tok-1', expires_in: 7200 },
    })
    .on('POST', WECOM_SEND, {
      json: {
        errcode: 0,
        errmsg: 'ok',
        invaliduser: '',
        msgid: 'msg-offer-1',
        response_code: WECOM_RESPONSE_CODE,
      },
    })
    .on('POST', WECOM_UPDATE, { json: { errcode: 0, errmsg: 'ok', invaliduser: [] } });
  feishu
    .on('POST', FEISHU_TOKEN, {
      json: { code: 0, msg: 'ok', tenant_access_token: 't-feishu-1', expire: 7200 },
    })
    .on('POST', FEISHU_SEND, {
      json: { code: 0, msg: 'success', data: { message_id: FEISHU_MESSAGE_ID, msg_type: 'interactive' } },
    })
    .on('PATCH', FEISHU_PATCH, { json: { code: 0, msg: 'success', data: {} } });
  dingtalk
    .on('POST', DINGTALK_TOKEN, { json: { accessToken: 'ding-tok-1', expireIn: 7200 } })
    .on('POST', DINGTALK_CARD_SEND, { json: { success: true, result: { processQueryKey: 'pqk-1' } } })
    .on('PUT', DINGTALK_CARD, { json: { success: 'true' } });
}

beforeAll(async () => {
  prosody = await startProsody([BOT, ALICE]);
  [slack, wecom, feishu, dingtalk] = await Promise.all([
    new FakeVendor().start(),
    new FakeVendor().start(),
    new FakeVendor().start(),
    new FakeVendor().start(),
  ]);
  stack = await startStack({
    env: {
      SLACK_BASE_URL: slack.url,
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      WECOM_BASE_URL: wecom.url,
      WECOM_CORP_ID: 'ww-corp',
      WECOM_APP_SECRET: 'wecom-app-secret',
      WECOM_AGENT_ID,
      FEISHU_BASE_URL: feishu.url,
      FEISHU_APP_ID: 'cli_a1b2c3d4e5f60001',
      FEISHU_APP_SECRET: 'feishu-app-secret',
      DINGTALK_OAPI_URL: dingtalk.url,
      DINGTALK_API_URL: dingtalk.url,
      DINGTALK_APP_KEY: 'ding-app-key',
      DINGTALK_APP_SECRET: 'ding-app-secret',
      DINGTALK_AGENT_ID: '2839445214',
      DINGTALK_CARD_TEMPLATE_ID: DINGTALK_TEMPLATE,
      XMPP_SERVICE: prosody.service,
      XMPP_JID: prosody.jid(BOT.username),
      XMPP_PASSWORD: BOT.password,
      XMPP_ALLOW_PLAINTEXT: 'true',
    },
  });
  source = await issueToken(stack, SOURCE, 'source');
  manager = await issueToken(stack, `mgr-${SOURCE}`, 'manager');
  reviewer = await issueToken(stack, `rev-${SOURCE}`, 'reviewer');
  alicesPhone = await new Person(prosody, ALICE).start();
}, 180_000);

beforeEach(script);

afterAll(async () => {
  await alicesPhone?.stop();
  await stack?.close();
  await Promise.all([slack?.close(), wecom?.close(), feishu?.close(), dingtalk?.close()]);
  await prosody?.stop();
});

/** A handler whose only channel is the one given, reading the given language, with a token to act as them. */
async function member(name: string, channel: { type: string; address: string }, locale = 'en') {
  const h = await createHandler(stack, { name });
  const res = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
    token: stack.adminToken,
    body: { channels: [channel], locale },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return h;
}

const bot = () => prosody.jid(BOT.username);
const fromBot = (text: string) => (c: { from: string; body: string }) =>
  c.from.startsWith(bot()) && c.body.includes(text);

/** Every request the three fakes saw, as `METHOD path`, for failure messages. */
const seen = () =>
  JSON.stringify({
    slack: slack.requests.map((r) => `${r.method} ${r.path}`),
    wecom: wecom.requests.map((r) => `${r.method} ${r.path}`),
    feishu: feishu.requests.map((r) => `${r.method} ${r.path}`),
    dingtalk: dingtalk.requests.map((r) => `${r.method} ${r.path}`),
  });

const one = (requests: VendorRequest[]) => (requests.length > 0 ? requests : undefined);
const arrived = (fake: () => VendorRequest[], what: string) =>
  eventually(async () => one(fake()), what).catch((err: Error) => {
    throw new Error(`${err.message}; the fakes saw ${seen()}`);
  });

/** Alice, on XMPP only, who claims the matter and completes it from her chat client. */
let alice: { id: string; token: string };

/** A group of alice and the given members, and a matter offered to it that has a link to its source. */
async function offerToGroup(members: { id: string }[], title: string): Promise<string> {
  alice ??= await member('Alice', { type: 'xmpp', address: prosody.jid(ALICE.username) });
  const groupId = `cards-${randomUUID().slice(0, 8)}`;
  const group = await call(stack, 'POST', '/v1/groups', {
    token: manager,
    body: { id: groupId, name: '对账组', members: [...members.map((m) => m.id), alice.id] },
  });
  expect(group.status, JSON.stringify(group.body)).toBe(201);
  const pushed = await call(stack, 'POST', '/v1/matters', {
    token: source,
    body: {
      source: SOURCE,
      externalId: randomUUID(),
      title,
      details: 'Q2 ledger against the bank statement',
      link: 'https://erp.example.com/ledger/42',
      groupId,
    },
  });
  expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
  return pushed.body.id;
}

/** Alice claims in the API, completes by chat, and the run ends: every update it makes has been made. */
async function claimAndCompleteByChat(id: string, title: string): Promise<void> {
  await alicesPhone.waitFor(fromBot(title), 'the offer as a chat at alice');
  const claimed = await call(stack, 'POST', `/v1/matters/${id}/claim`, { token: alice.token, body: {} });
  expect(claimed.status, JSON.stringify(claimed.body)).toBe(200);
  await alicesPhone.say(bot(), `done ${id} ledger matches`);
  await alicesPhone.waitFor(fromBot(`Completed: ${title}`), 'the completion reply');
}

/** The workflow waits for its convergence before it ends, so nothing more reaches the fakes after this. */
async function runEnded(id: string): Promise<void> {
  const [row] = await stack.sql<{ workflowId: string }[]>`
    select workflow_id as "workflowId" from matters where id = ${id}`;
  await stack.temporal.workflow.getHandle(row!.workflowId).result();
}

describe('cards converge after a group matter is completed over XMPP', () => {
  it('replaces the Slack and Feishu cards of every offered member with the outcome, once, when the claimant completes it by chat', async () => {
    const slackMember = await member('Sam Slack', { type: 'slack', address: SLACK_USER });
    const wecomMember = await member('张三', { type: 'wecom', address: WECOM_USER });
    const feishuMember = await member('李四', { type: 'feishu', address: FEISHU_USER });
    const title = `Reconcile ledger ${randomUUID().slice(0, 6)}`;
    const id = await offerToGroup([slackMember, wecomMember, feishuMember], title);

    // Every member gets the offer on their own channel.
    const [slackPost] = await arrived(() => slack.requestsTo('POST', SLACK_POST), 'the Slack post');
    expect(slackPost!.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(slackPost!.body).toMatchObject({ channel: SLACK_USER });
    expect(slackPost!.body.blocks[0].text.text).toBe(title);
    // With no claim yet the offer has no action links, only the button that opens it in its source.
    const offered = slackPost!.body.blocks.find((b: { type: string }) => b.type === 'actions');
    expect(offered.elements.map((e: { action_id: string }) => e.action_id)).toEqual(['open_link']);

    const [wecomSend] = await arrived(() => wecom.requestsTo('POST', WECOM_SEND), 'the WeCom send');
    expect(wecomSend!.query).toEqual({ access_token: 'wecom-tok-1' });
    expect(wecomSend!.body).toMatchObject({ touser: WECOM_USER, agentid: Number(WECOM_AGENT_ID) });
    expect(wecomSend!.raw).toContain(title);

    const [feishuSend] = await arrived(() => feishu.requestsTo('POST', FEISHU_SEND), 'the Feishu send');
    expect(feishuSend!.headers.authorization).toBe('Bearer t-feishu-1');
    expect(feishuSend!.query).toEqual({ receive_id_type: 'user_id' });
    expect(feishuSend!.body).toMatchObject({ receive_id: FEISHU_USER, msg_type: 'interactive' });
    const sentCard = JSON.parse(feishuSend!.body.content);
    expect(sentCard.header.title.content).toBe(title);
    expect(JSON.stringify(sentCard)).toContain('"button"');

    await claimAndCompleteByChat(id, title);
    await arrived(() => slack.requestsTo('POST', SLACK_UPDATE), 'the Slack chat.update');
    await arrived(() => feishu.requestsTo('PATCH', FEISHU_PATCH), 'the Feishu PATCH');
    await runEnded(id);

    const slackUpdates = slack.requestsTo('POST', SLACK_UPDATE);
    expect(slackUpdates, seen()).toHaveLength(1);
    expect(slackUpdates[0]!.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(slackUpdates[0]!.body).toMatchObject({ ...SLACK_POSTED, text: `Matter completed: ${title}` });
    const blocks = slackUpdates[0]!.body.blocks as { type: string }[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(JSON.stringify(blocks)).toContain('Completed by Alice');

    const feishuPatches = feishu.requestsTo('PATCH', FEISHU_PATCH);
    expect(feishuPatches, seen()).toHaveLength(1);
    expect(feishuPatches[0]!.headers.authorization).toBe('Bearer t-feishu-1');
    expect(Object.keys(feishuPatches[0]!.body)).toEqual(['content']);
    const card = JSON.parse(feishuPatches[0]!.body.content);
    expect(card.config.update_multi).toBe(true);
    expect(card.header.template).toBe('green');
    expect(card.elements.map((e: { tag: string }) => e.tag)).toEqual(['markdown', 'note']);
    expect(JSON.stringify(card)).not.toContain('"button"');
    expect(card.elements[0].content).toContain('Completed by Alice');

    // Each member got the offer once; nothing else was asked of Slack or Feishu.
    expect(slack.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${SLACK_POST}`,
      `POST ${SLACK_UPDATE}`,
    ]);
    expect(feishu.requestsTo('POST', FEISHU_SEND)).toHaveLength(1);
    expect(feishu.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(wecom.requestsTo('POST', WECOM_SEND)).toHaveLength(1);

    const matter = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(matter.body).toMatchObject({ status: 'completed', completedBy: alice.id, handlerId: alice.id });
    expect(matter.body.events.at(-1)).toMatchObject({
      type: 'matter.completed',
      actorId: alice.id,
      data: { comment: 'ledger matches' },
    });
  });

  it('offers the WeCom member a template card and greys its button out under the outcome once the claimant completes it', async () => {
    const wecomMember = await member('张三', { type: 'wecom', address: WECOM_USER });
    const title = `Reconcile ledger ${randomUUID().slice(0, 6)}`;
    const id = await offerToGroup([wecomMember], title);
    await arrived(() => wecom.requestsTo('POST', WECOM_SEND), 'the WeCom send');
    await claimAndCompleteByChat(id, title);
    await runEnded(id);

    const [send] = wecom.requestsTo('POST', WECOM_SEND);
    expect(send!.body).toMatchObject({
      touser: WECOM_USER,
      agentid: Number(WECOM_AGENT_ID),
      msgtype: 'template_card',
    });
    const updates = wecom.requestsTo('POST', WECOM_UPDATE);
    expect(updates, seen()).toHaveLength(1);
    expect(updates[0]!.query).toEqual({ access_token: 'wecom-tok-1' });
    expect(updates[0]!.body).toEqual({
      userids: [WECOM_USER],
      agentid: Number(WECOM_AGENT_ID),
      response_code: WECOM_RESPONSE_CODE,
      button: { replace_name: 'Completed by Alice' },
    });
  });
});

/** A matter pushed by the source straight to one handler. */
async function pushTo(handlerId: string, title: string): Promise<string> {
  const pushed = await call(stack, 'POST', '/v1/matters', {
    token: source,
    body: { source: SOURCE, externalId: randomUUID(), title, handlerId },
  });
  expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
  return pushed.body.id;
}

async function act(token: string, id: string, action: string, body: object): Promise<void> {
  const res = await call(stack, 'POST', `/v1/matters/${id}/${action}`, { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

describe('cards converge when a matter changes hands or is cancelled', () => {
  it('greys the old holder’s WeCom card out naming the new holder, patches the Feishu card handed back naming whom it went back to, and leaves each fresh card live', async () => {
    wecom.on(
      'POST',
      WECOM_SEND,
      ...['rc-assigned', 'rc-handed-back'].map((code) => ({
        json: { errcode: 0, errmsg: 'ok', invaliduser: '', msgid: `msg-${code}`, response_code: code },
      })),
    );
    const zhang = await member('张三', { type: 'wecom', address: WECOM_USER });
    const li = await member('李四', { type: 'feishu', address: FEISHU_USER });
    const title = `Check collateral ${randomUUID().slice(0, 6)}`;
    const id = await pushTo(zhang.id, title);
    await arrived(() => wecom.requestsTo('POST', WECOM_SEND), 'the WeCom card for 张三');

    await act(zhang.token, id, 'transfer', { toHandlerId: li.id, reason: 'their branch' });
    const [transferred] = await arrived(
      () => wecom.requestsTo('POST', WECOM_UPDATE),
      'the WeCom card update',
    );
    expect(transferred!.query).toEqual({ access_token: 'wecom-tok-1' });
    expect(transferred!.body).toEqual({
      userids: [WECOM_USER],
      agentid: Number(WECOM_AGENT_ID),
      response_code: 'rc-assigned',
      button: { replace_name: 'Transferred to 李四' },
    });
    const [liCard] = await arrived(() => feishu.requestsTo('POST', FEISHU_SEND), 'the Feishu card for 李四');
    expect(JSON.stringify(JSON.parse(liCard!.body.content))).toContain('"button"');

    await act(li.token, id, 'reject-transfer', { reason: 'not our branch' });
    const [handedBack] = await arrived(() => feishu.requestsTo('PATCH', FEISHU_PATCH), 'the Feishu PATCH');
    expect(handedBack!.headers.authorization).toBe('Bearer t-feishu-1');
    expect(Object.keys(handedBack!.body)).toEqual(['content']);
    const card = JSON.parse(handedBack!.body.content);
    expect(card.header.template).toBe('grey');
    expect(card.elements.map((e: { tag: string }) => e.tag)).toEqual(['markdown', 'note']);
    expect(JSON.stringify(card)).not.toContain('"button"');
    expect(card.elements[0].content).toContain('Handed back to 张三 by 李四');
    await eventually(
      async () => wecom.requestsTo('POST', WECOM_SEND).length === 2,
      'the card handing it back',
    );

    // Completing it converges the card that handed it back, and the run ends with every update made.
    await act(zhang.token, id, 'complete', { comment: 'collateral checked' });
    await runEnded(id);

    expect(
      wecom.requestsTo('POST', WECOM_UPDATE).map((r) => r.body.response_code),
      seen(),
    ).toEqual(['rc-assigned', 'rc-handed-back']);
    expect(wecom.requestsTo('POST', WECOM_UPDATE)[1]!.body.button).toEqual({
      replace_name: 'Completed by 张三',
    });
    expect(feishu.requestsTo('PATCH', FEISHU_PATCH), seen()).toHaveLength(1);
    expect(feishu.requestsTo('POST', FEISHU_SEND)).toHaveLength(1);
  });

  it('replaces the holder’s Slack card saying who cancelled it when an approved delete cancels the matter, and leaves the cancellation notice as sent', async () => {
    const cancelNotice = { channel: SLACK_POSTED.channel, ts: '1503435999.000300' };
    slack.on(
      'POST',
      SLACK_POST,
      { json: { ok: true, ...SLACK_POSTED, message: {} } },
      { json: { ok: true, ...cancelNotice, message: {} } },
    );
    const sam = await member('Sam Slack', { type: 'slack', address: SLACK_USER });
    const title = `Check collateral ${randomUUID().slice(0, 6)}`;
    const id = await pushTo(sam.id, title);
    await arrived(() => slack.requestsTo('POST', SLACK_POST), 'the Slack post');

    await cancelByApprovedDelete(stack, { manager, reviewer }, id, 'raised twice');
    await runEnded(id);

    expect(slack.requestsTo('POST', SLACK_POST), seen()).toHaveLength(2);
    const updates = slack.requestsTo('POST', SLACK_UPDATE);
    expect(updates, seen()).toHaveLength(1);
    expect(updates[0]!.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(updates[0]!.body).toMatchObject({ ...SLACK_POSTED, text: `Matter cancelled: ${title}` });
    const blocks = JSON.stringify(updates[0]!.body.blocks);
    expect(blocks).not.toContain('"actions"');
    expect(blocks).toContain(`Cancelled by mgr-${SOURCE}`);
  });

  it('offers the DingTalk member an interactive card and updates it by its outTrackId with the outcome and no buttons, once, when the claimant completes it', async () => {
    const dingtalkMember = await member('王五', { type: 'dingtalk', address: DINGTALK_USER }, 'zh-CN');
    const title = `Reconcile ledger ${randomUUID().slice(0, 6)}`;
    const id = await offerToGroup([dingtalkMember], title);
    const [send] = await arrived(() => dingtalk.requestsTo('POST', DINGTALK_CARD_SEND), 'the DingTalk card');
    await claimAndCompleteByChat(id, title);
    await runEnded(id);

    expect(send!.headers['x-acs-dingtalk-access-token']).toBe('ding-tok-1');
    expect(send!.body).toMatchObject({
      cardTemplateId: DINGTALK_TEMPLATE,
      conversationType: 0,
      receiverUserIdList: [DINGTALK_USER],
      cardData: { cardParamMap: { actionable: 'true', matterUrl: 'https://erp.example.com/ledger/42' } },
    });
    expect(send!.body.cardData.cardParamMap.title).toContain(title);
    const updates = dingtalk.requestsTo('PUT', DINGTALK_CARD);
    expect(updates, seen()).toHaveLength(1);
    expect(updates[0]!.headers['x-acs-dingtalk-access-token']).toBe('ding-tok-1');
    expect(updates[0]!.body).toEqual({
      outTrackId: send!.body.outTrackId,
      // In 王五's own language.
      cardData: { cardParamMap: { status: 'Alice 已完成', actionable: 'false', completeToken: '' } },
      cardOptions: { updateCardDataByKey: true },
    });
    expect(dingtalk.requestsTo('POST', DINGTALK_CARD_SEND)).toHaveLength(1);
  });
});
