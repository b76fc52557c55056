import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChannelTarget } from '../../src/channels/channel.js';
import { feishuAppChannel, feishuBotChannel } from '../../src/channels/feishu.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { completedNotice, outboundMessage } from '../support/outbound-message.js';

const DETAILS =
  '请在周五前完成对账：\n- 金额 > 100 & < 500 的 **不一致** 项\n<script>alert("x")</script> [链接](https://evil.example) `代码` _斜体_ ~删除~ #标签 :OK: |管道| \\ $1 {x} \'引\'';

const message = outboundMessage({
  type: 'matter.assigned',
  matter: { title: '核对 <金库> 台账 & 报表 *紧急* [Q2]', details: DETAILS, priority: 'urgent' },
  idempotencyKey: 'matter:erp:ERP-42-with-a-rather-long-external-id:3:u-zhang',
});

const completed = completedNotice(message, {
  idempotencyKey: 'matter:erp:ERP-42:4:u-zhang',
  data: { outcome: '已核对 <无差异> & 归档' },
});

const userTarget: ChannelTarget = { type: 'feishu', address: 'u-zhang', settings: {} };
const inLocale = (t: ChannelTarget, locale: string): ChannelTarget => ({
  ...t,
  settings: { ...t.settings, locale },
});

/** Undoes the card markdown escaping the way a Feishu client renders `&#NN;` entities. */
const rendered = (markdown: string) =>
  markdown.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';
const MESSAGES_PATH = '/open-apis/im/v1/messages';

const tokenReply = (token: string, expire = 7200) => ({
  json: { code: 0, msg: 'ok', tenant_access_token: token, expire },
});
const sentReply = (messageId: string) => ({
  json: { code: 0, msg: 'success', data: { message_id: messageId, msg_type: 'interactive' } },
});

const vendor = useFakeVendor();
const authorizations = () => vendor.requestsTo('POST', MESSAGES_PATH).map((r) => r.headers.authorization);

const callbackButton = (action: string, content: string, type: string) => ({
  tag: 'button',
  text: { tag: 'plain_text', content },
  type,
  url: `https://mf.example.com/a/tok-${action}`,
  value: { action, matterId: 'm-42' },
  complex_interaction: true,
});

function appChannel(now?: () => Date) {
  return feishuAppChannel({
    baseUrl: vendor.url,
    appId: 'cli_a1b2c3d4e5f60001',
    appSecret: 'app-secret',
    timeoutMs: 2_000,
    ...(now ? { now } : {}),
  });
}

describe('Feishu app bot (im/v1/messages)', () => {
  it('fetches a tenant_access_token with the app credentials, then sends an interactive card to the user', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_dc13264520392913993dd051dba21dcf'));

    const result = await appChannel().send(userTarget, message);

    expect(result).toEqual({
      ok: true,
      httpStatus: 200,
      retryable: false,
      ref: { messageId: 'om_dc13264520392913993dd051dba21dcf' },
    });
    const [tokenRequest] = vendor.requestsTo('POST', TOKEN_PATH);
    expect(tokenRequest!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(tokenRequest!.body).toEqual({ app_id: 'cli_a1b2c3d4e5f60001', app_secret: 'app-secret' });

    const [sent] = vendor.requestsTo('POST', MESSAGES_PATH);
    expect(sent!.query).toEqual({ receive_id_type: 'user_id' });
    expect(sent!.headers.authorization).toBe('Bearer t-first');
    expect(sent!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(sent!.body).sort()).toEqual(['content', 'msg_type', 'receive_id', 'uuid']);
    expect(sent!.body).toMatchObject({ receive_id: 'u-zhang', msg_type: 'interactive' });
    expect(typeof sent!.body.content).toBe('string');
  });

  it('sends a shared card: plain-text title, escaped markdown details, and buttons that open the action links and call back', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_1'));

    await appChannel().send(userTarget, message);

    const card = JSON.parse(vendor.requestsTo('POST', MESSAGES_PATH)[0]!.body.content);
    expect(card.config).toEqual({ wide_screen_mode: true, update_multi: true });
    expect(card.header).toEqual({
      template: 'red',
      title: { tag: 'plain_text', content: '核对 <金库> 台账 & 报表 *紧急* [Q2]' },
    });
    const [text, actions] = card.elements;
    expect(text.tag).toBe('markdown');
    expect(text.content).not.toContain('<script>');
    expect(text.content).not.toContain('**不一致**');
    expect(text.content).toContain('&#60;script&#62;');
    expect(rendered(text.content)).toContain(DETAILS);
    expect(rendered(text.content)).toContain('2026-07-03 09:30 UTC');
    expect(rendered(text.content)).toContain('urgent');
    expect(actions).toEqual({
      tag: 'action',
      actions: [
        callbackButton('complete', 'Complete', 'primary'),
        callbackButton('transfer', 'Transfer', 'default'),
        {
          tag: 'button',
          text: { tag: 'plain_text', content: 'Open in erp' },
          type: 'default',
          url: 'https://erp.example.com/m/42?a=1&b=2',
        },
      ],
    });
  });

  it('writes Chinese labels on the card for a zh-CN user and English for an en user, the callback values as they were', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_1'));

    await appChannel().send(inLocale(userTarget, 'zh-CN'), message);
    await appChannel().send(inLocale(userTarget, 'en'), message);

    const [zh, en] = vendor.requestsTo('POST', MESSAGES_PATH).map((r) => JSON.parse(r.body.content));
    const lines = (card: { elements: { content: string }[] }) =>
      rendered(card.elements[0]!.content).split('\n');
    expect(lines(zh)[0]).toBe('**新事项**');
    expect(lines(zh).slice(-2)).toEqual(['**截止时间：** 2026-07-03 09:30 UTC', '**优先级：** 紧急']);
    expect(zh.elements[1].actions).toEqual([
      callbackButton('complete', '完成', 'primary'),
      callbackButton('transfer', '转办', 'default'),
      {
        tag: 'button',
        text: { tag: 'plain_text', content: '在 erp 中打开' },
        type: 'default',
        url: 'https://erp.example.com/m/42?a=1&b=2',
      },
    ]);
    expect(lines(en)[0]).toBe('**Matter assigned**');
    expect(lines(en).slice(-2)).toEqual(['**Due:** 2026-07-03 09:30 UTC', '**Priority:** urgent']);
    expect(en.elements[1].actions.map((b: { text: { content: string } }) => b.text.content)).toEqual([
      'Complete',
      'Transfer',
      'Open in erp',
    ]);
  });

  it('derives a uuid of at most 50 characters from the idempotency key, the same for every retry of one notice', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_1'));
    const channel = appChannel();

    await channel.send(userTarget, message);
    await channel.send(userTarget, message);
    await channel.send(userTarget, { ...message, idempotencyKey: 'matter:erp:ERP-42:5:u-zhang' });

    const uuids = vendor.requestsTo('POST', MESSAGES_PATH).map((r) => r.body.uuid as string);
    expect(message.idempotencyKey.length).toBeGreaterThan(50);
    for (const uuid of uuids) expect(uuid.length).toBeLessThanOrEqual(50);
    expect(uuids[0]).toBe(uuids[1]);
    expect(uuids[2]).not.toBe(uuids[0]);
  });

  it('takes the receive_id_type from the target settings, so a group chat can be addressed by chat_id', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_1'));

    await appChannel().send(
      {
        type: 'feishu',
        address: 'oc_84983ff6516d731e5b5f68d4ea2e1da5',
        settings: { receiveIdType: 'chat_id' },
      },
      message,
    );

    const [sent] = vendor.requestsTo('POST', MESSAGES_PATH);
    expect(sent!.rawQuery).toBe('receive_id_type=chat_id');
    expect(sent!.body.receive_id).toBe('oc_84983ff6516d731e5b5f68d4ea2e1da5');
  });

  it('refuses an unknown receiveIdType without calling Feishu', async () => {
    const result = await appChannel().send(
      { type: 'feishu', address: 'u-zhang', settings: { receiveIdType: 'phone' } },
      message,
    );

    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(vendor.requests).toHaveLength(0);
  });

  it('reuses the cached tenant_access_token across sends while it is fresh', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_1'));
    const channel = appChannel();

    await Promise.all([channel.send(userTarget, message), channel.send(userTarget, message)]);
    await channel.send(userTarget, message);

    expect(vendor.requestsTo('POST', TOKEN_PATH)).toHaveLength(1);
    expect(authorizations()).toEqual(['Bearer t-first', 'Bearer t-first', 'Bearer t-first']);
  });

  it('fetches a new token once the cached one nears the end of its expire period', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'), tokenReply('t-second'));
    vendor.on('POST', MESSAGES_PATH, sentReply('om_1'));
    let clock = Date.parse('2026-07-01T08:00:00Z');
    const channel = appChannel(() => new Date(clock));

    await channel.send(userTarget, message);
    clock += 60 * 60 * 1000;
    await channel.send(userTarget, message);
    clock += 31 * 60 * 1000;
    await channel.send(userTarget, message);

    expect(vendor.requestsTo('POST', TOKEN_PATH)).toHaveLength(2);
    expect(authorizations()).toEqual(['Bearer t-first', 'Bearer t-first', 'Bearer t-second']);
  });

  it('drops a token Feishu calls invalid (99991663), fetches a new one and sends again', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-revoked'), tokenReply('t-fresh'));
    vendor.on('POST', MESSAGES_PATH, (r) =>
      r.headers.authorization === 'Bearer t-revoked'
        ? { status: 400, json: { code: 99991663, msg: 'Invalid access token for authorization.' } }
        : sentReply('om_after_refresh'),
    );

    const result = await appChannel().send(userTarget, message);

    expect(result).toMatchObject({ ok: true, ref: { messageId: 'om_after_refresh' } });
    expect(vendor.requestsTo('POST', TOKEN_PATH)).toHaveLength(2);
    expect(authorizations()).toEqual(['Bearer t-revoked', 'Bearer t-fresh']);
  });

  it('does not send when the token request is refused, and says why', async () => {
    vendor.on('POST', TOKEN_PATH, { json: { code: 10014, msg: 'app secret invalid' } });

    const result = await appChannel().send(userTarget, message);

    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.error).toContain('10014');
    expect(vendor.requestsTo('POST', MESSAGES_PATH)).toHaveLength(0);
  });

  it.each([
    { status: 400, code: 230020, msg: 'This operation triggers the frequency limit.', retryable: true },
    { status: 429, code: 99991400, msg: 'request trigger frequency limit', retryable: true },
    { status: 400, code: 230013, msg: 'Bot has NO availability to this user.', retryable: false },
    { status: 400, code: 230001, msg: 'invalid request parameter', retryable: false },
  ])(
    'maps HTTP $status with code $code to retryable=$retryable',
    async ({ status, code, msg, retryable }) => {
      vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
      vendor.on('POST', MESSAGES_PATH, { status, json: { code, msg } });

      const result = await appChannel().send(userTarget, message);

      expect(result).toEqual({
        ok: false,
        httpStatus: status,
        error: `feishu answered code ${code}: ${msg}`,
        retryable,
      });
    },
  );

  it('reports a gateway error page as retryable', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, { status: 502, text: '<html>bad gateway</html>' });

    const result = await appChannel().send(userTarget, message);

    expect(result).toEqual({ ok: false, httpStatus: 502, error: 'feishu answered 502', retryable: true });
  });

  it('reports a timed-out request as retryable', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('POST', MESSAGES_PATH, { ...sentReply('om_late'), delayMs: 500 });
    const channel = feishuAppChannel({ baseUrl: vendor.url, appId: 'cli_x', appSecret: 's', timeoutMs: 100 });

    const result = await channel.send(userTarget, message);

    expect(result).toMatchObject({ ok: false, retryable: true });
  });

  it('documents the 5-per-second limit per user or chat', () => {
    expect(appChannel().sendLimits).toEqual([{ max: 5, perMs: 1_000 }]);
  });

  it('updates the sent card by PATCHing the message with the outcome and no buttons', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('PATCH', `${MESSAGES_PATH}/om_dc13`, { json: { code: 0, data: {}, msg: 'ok' } });

    const result = await appChannel().update!(userTarget, { messageId: 'om_dc13' }, completed);

    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false });
    const [patch] = vendor.requestsTo('PATCH', `${MESSAGES_PATH}/om_dc13`);
    expect(patch!.headers.authorization).toBe('Bearer t-first');
    expect(Object.keys(patch!.body)).toEqual(['content']);
    const card = JSON.parse(patch!.body.content);
    expect(card.config.update_multi).toBe(true);
    expect(card.header).toEqual({
      template: 'green',
      title: { tag: 'plain_text', content: '核对 <金库> 台账 & 报表 *紧急* [Q2]' },
    });
    expect(card.elements.map((e: { tag: string }) => e.tag)).toEqual(['markdown', 'note']);
    expect(JSON.stringify(card)).not.toContain('"button"');
    expect(rendered(card.elements[0].content)).toContain('Matter completed');
    expect(rendered(card.elements[0].content)).toContain('已核对 <无差异> & 归档');
    expect(card.elements[0].content).not.toContain('<无差异>');
  });

  it('writes the outcome on a zh-CN user’s card in Chinese', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('PATCH', `${MESSAGES_PATH}/om_zh`, { json: { code: 0, data: {}, msg: 'ok' } });

    await appChannel().update!(inLocale(userTarget, 'zh-CN'), { messageId: 'om_zh' }, completed);

    const card = JSON.parse(vendor.requestsTo('PATCH', `${MESSAGES_PATH}/om_zh`)[0]!.body.content);
    expect(rendered(card.elements[0].content)).toBe('**事项已完成**\n**办理结果：** 已核对 <无差异> & 归档');
    expect(card.elements[1]).toEqual({
      tag: 'note',
      elements: [{ tag: 'plain_text', content: '无需进一步处理。' }],
    });
  });

  it('reports an update of a recalled message as not retryable', async () => {
    vendor.on('POST', TOKEN_PATH, tokenReply('t-first'));
    vendor.on('PATCH', `${MESSAGES_PATH}/om_gone`, {
      status: 400,
      json: { code: 230011, msg: 'The message is recalled.' },
    });

    const result = await appChannel().update!(userTarget, { messageId: 'om_gone' }, completed);

    expect(result).toMatchObject({ ok: false, retryable: false, httpStatus: 400 });
    expect(result.error).toContain('230011');
  });
});

describe('Feishu custom bot (bot/v2/hook)', () => {
  const HOOK_TOKEN = '5e3d587e-d78e-4a07-bd07-265f269f86fd';
  const HOOK_PATH = `/open-apis/bot/v2/hook/${HOOK_TOKEN}`;
  const NOW = new Date('2026-07-01T08:00:00.000Z');
  const botTarget: ChannelTarget = {
    type: 'feishu-bot',
    address: HOOK_TOKEN,
    settings: { secret: 'nIMtb7r3N9pkXyXdtAbx6e' },
  };
  const botChannel = () => feishuBotChannel({ baseUrl: vendor.url, timeoutMs: 2_000, now: () => NOW });
  const accepted = { json: { StatusCode: 0, StatusMessage: 'success', code: 0, data: {}, msg: 'success' } };

  it('posts a signed interactive card to the hook: timestamp in seconds, sign = Base64(HmacSHA256("timestamp\\nsecret", ""))', async () => {
    vendor.on('POST', HOOK_PATH, accepted);

    const result = await botChannel().send(botTarget, message);

    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false });
    const [hook] = vendor.requestsTo('POST', HOOK_PATH);
    expect(hook!.headers['content-type']).toBe('application/json; charset=utf-8');
    const timestamp = '1782892800';
    const expectedSign = createHmac('sha256', Buffer.from(`${timestamp}\nnIMtb7r3N9pkXyXdtAbx6e`, 'utf8'))
      .update(Buffer.alloc(0))
      .digest('base64');
    expect(hook!.body.timestamp).toBe(timestamp);
    expect(hook!.body.sign).toBe(expectedSign);
    expect(hook!.body.msg_type).toBe('interactive');
    expect(hook!.body).not.toHaveProperty('content');
    expect(hook!.body.card.header.title).toEqual({
      tag: 'plain_text',
      content: '核对 <金库> 台账 & 报表 *紧急* [Q2]',
    });
    expect(rendered(hook!.body.card.elements[0].content)).toContain(DETAILS);
  });

  it('gives the bot card link buttons only, since custom-bot cards cannot call back', async () => {
    vendor.on('POST', HOOK_PATH, accepted);

    await botChannel().send(botTarget, message);

    const buttons = vendor.requestsTo('POST', HOOK_PATH)[0]!.body.card.elements[1].actions;
    expect(buttons.map((b: { url: string }) => b.url)).toEqual([
      'https://mf.example.com/a/tok-complete',
      'https://mf.example.com/a/tok-transfer',
      'https://erp.example.com/m/42?a=1&b=2',
    ]);
    for (const button of buttons) {
      expect(button).not.toHaveProperty('value');
      expect(button).not.toHaveProperty('complex_interaction');
    }
  });

  it('writes the bot card in Chinese for a zh-CN hook', async () => {
    vendor.on('POST', HOOK_PATH, accepted);

    await botChannel().send(inLocale(botTarget, 'zh-CN'), message);

    const card = vendor.requestsTo('POST', HOOK_PATH)[0]!.body.card;
    expect(rendered(card.elements[0].content)).toMatch(/^\*\*新事项\*\*\n[\s\S]*\*\*优先级：\*\* 紧急$/);
    expect(card.elements[1].actions.map((b: { text: { content: string } }) => b.text.content)).toEqual([
      '完成',
      '转办',
      '在 erp 中打开',
    ]);
  });

  it('sends no timestamp or sign to a hook without a secret', async () => {
    vendor.on('POST', HOOK_PATH, accepted);

    await botChannel().send({ ...botTarget, settings: {} }, message);

    const [hook] = vendor.requestsTo('POST', HOOK_PATH);
    expect(hook!.body).not.toHaveProperty('timestamp');
    expect(hook!.body).not.toHaveProperty('sign');
  });

  it.each([
    {
      json: {
        code: 11232,
        data: {},
        msg: 'frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]',
      },
      retryable: true,
    },
    { json: { code: 9499, msg: 'too many request' }, retryable: true },
    { json: { code: 9499, msg: 'Bad Request', data: {} }, retryable: false },
    {
      json: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' },
      retryable: false,
    },
    { json: { code: 19024, msg: 'Key Words Not Found' }, retryable: false },
  ])('maps hook answer code $json.code ($json.msg) to retryable=$retryable', async ({ json, retryable }) => {
    vendor.on('POST', HOOK_PATH, { json });

    const result = await botChannel().send(botTarget, message);

    expect(result).toMatchObject({ ok: false, retryable });
    expect(result.error).toContain(String(json.code));
  });

  it('documents the custom-bot limits of 5 per second and 100 per minute, and offers no update', () => {
    const channel = botChannel();
    expect(channel.sendLimits).toEqual([
      { max: 5, perMs: 1_000 },
      { max: 100, perMs: 60_000 },
    ]);
    expect(channel.update).toBeUndefined();
  });
});
