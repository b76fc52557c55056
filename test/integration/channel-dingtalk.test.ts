import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChannelTarget } from '../../src/channels/channel.js';
import {
  type DingtalkWorkOptions,
  dingtalkRobotChannel,
  dingtalkWorkChannel,
} from '../../src/channels/dingtalk.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import {
  purchaseOrderLink as linkFor,
  purchaseOrderReminder as message,
  purchaseOrderToken,
} from '../support/outbound-message.js';

const listTitle = 'Reminder: 审批采购单 "PO-42" <紧急> & [财务] *加急* 50% \\ 路径';
const cardText = [
  '### 审批采购单 "PO-42" \\<紧急\\> & \\[财务\\] \\*加急\\* 50% \\\\ 路径',
  '> Reminder · Due 2025-07-04 10:00 UTC · Priority high · Handler 李四',
  '请在周五前处理：  \n  1. 核对发票 \\#A-1  \n  2. 联系供应商 \\`张三\\` \\> 确认金额',
  '[Open matter](https://erp.example.com/po/42?from=mf&x=%281%29)',
].join('\n\n');
/** A button per action link; the robot and the work notification API name the link field differently. */
const buttons = (urlField: string) =>
  [
    ['Complete', 'complete'],
    ['Transfer', 'transfer'],
    ['Report exception', 'exception'],
  ].map(([title, action]) => ({ title, [urlField]: linkFor(action!) }));

const vendor = useFakeVendor();

describe('DingTalk custom robot channel', () => {
  const ROBOT = '/robot/send';
  const ok = { json: { errcode: '0', errmsg: 'ok' } };
  const robot = (now = new Date('2025-07-01T08:00:00Z')) =>
    dingtalkRobotChannel({ baseUrl: vendor.url, timeoutMs: 2000, now: () => now });
  const signed = (secret: string): ChannelTarget => ({
    type: 'dingtalk-robot',
    address: 'robot-token',
    settings: { secret },
  });

  it('signs with the documented HmacSHA256 of timestamp and secret, url-encoded once', async () => {
    vendor.on('POST', ROBOT, ok);
    await robot(new Date(1_700_000_000_000)).send(signed('secret'), message);
    // Known answer for timestamp 1700000000000 and secret "secret", as published alongside the formula.
    expect(vendor.requests[0]!.rawQuery).toBe(
      'access_token=robot-token&timestamp=1700000000000&sign=OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D',
    );

    const secret = 'SEC3b9d0e6f1a+/=密钥';
    const at = Date.parse('2025-07-01T08:00:00.123Z');
    await robot(new Date(at)).send(signed(secret), message);
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8'))
      .update(Buffer.from(`${at}\n${secret}`, 'utf8'))
      .digest('base64');
    expect(vendor.requests[1]!.query).toEqual({
      access_token: 'robot-token',
      timestamp: String(at),
      sign: expected,
    });
  });

  it('posts an actionCard with the matter as escaped markdown and a button per action link', async () => {
    vendor.on('POST', ROBOT, ok);
    const result = await robot().send(signed('secret'), message);
    const [request] = vendor.requestsTo('POST', ROBOT);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.body).toEqual({
      msgtype: 'actionCard',
      actionCard: {
        title: listTitle,
        text: cardText,
        btnOrientation: '0',
        btns: buttons('actionURL'),
      },
      msgUuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    });
    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false });
  });

  it('leaves timestamp and sign out for a robot without a signing secret', async () => {
    vendor.on('POST', ROBOT, ok);
    await robot().send({ type: 'dingtalk-robot', address: 'robot token/1', settings: {} }, message);
    expect(vendor.requests[0]!.query).toEqual({ access_token: 'robot token/1' });
  });

  it('uses a single button for one action and plain markdown when there is none', async () => {
    vendor.on('POST', ROBOT, ok);
    const [complete] = message.actions;
    await robot().send(signed('secret'), { ...message, actions: [complete!] });
    await robot().send(signed('secret'), { ...message, type: 'matter.completed', actions: [] });
    const [single, plain] = vendor.requestsTo('POST', ROBOT);
    expect(single!.body.actionCard).toEqual({
      title: listTitle,
      text: cardText,
      singleTitle: 'Complete',
      singleURL: linkFor('complete'),
    });
    expect(plain!.body.msgtype).toBe('markdown');
    expect(plain!.body.markdown.title).toBe(listTitle.replace('Reminder', 'Completed'));
    expect(plain!.body.markdown.text).toContain('> Completed · Due 2025-07-04 10:00 UTC');
  });

  it('gives a retried notice the same msgUuid and another notice a different one', async () => {
    vendor.on('POST', ROBOT, ok);
    for (const idempotencyKey of ['matter-m-1:7:h-1', 'matter-m-1:7:h-1', 'matter-m-1:8:h-1']) {
      await robot().send(signed('secret'), { ...message, idempotencyKey });
    }
    const ids = vendor.requestsTo('POST', ROBOT).map((r) => r.body.msgUuid);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it.each([
    [410100, true],
    [130101, true],
    [-1, true],
    [310000, false],
    [400102, false],
  ])('maps errcode %i to retryable=%s', async (errcode, retryable) => {
    vendor.on('POST', ROBOT, { json: { errcode, errmsg: 'sign not match' } });
    expect(await robot().send(signed('secret'), message)).toEqual({
      ok: false,
      httpStatus: 200,
      error: `dingtalk answered errcode ${errcode}: sign not match`,
      retryable,
    });
  });

  it('treats a server error or a vendor that does not answer in time as worth retrying', async () => {
    vendor.on('POST', ROBOT, { status: 503, text: 'busy' });
    expect(await robot().send(signed('secret'), message)).toEqual({
      ok: false,
      httpStatus: 503,
      error: 'dingtalk answered 503',
      retryable: true,
    });
    vendor.on('POST', ROBOT, { ...ok, delayMs: 1000 });
    const slow = dingtalkRobotChannel({ baseUrl: vendor.url, timeoutMs: 200 });
    expect(await slow.send(signed('secret'), message)).toMatchObject({ ok: false, retryable: true });
  });

  it('declares the documented 20 messages a minute and offers no update', () => {
    expect(robot().sendLimits).toEqual([{ max: 20, perMs: 60_000 }]);
    expect(robot().update).toBeUndefined();
  });
});

describe('DingTalk work notification channel', () => {
  const TOKEN = '/v1.0/oauth2/accessToken';
  const ASYNC_SEND = '/topapi/message/corpconversation/asyncsend_v2';
  const RECALL = '/topapi/message/corpconversation/recall';
  const target: ChannelTarget = { type: 'dingtalk', address: 'manager4974', settings: {} };
  const token = (accessToken: string, expireIn = 7200) => ({ json: { accessToken, expireIn } });
  const accepted = { json: { errcode: 0, errmsg: 'ok', task_id: 256271667526, request_id: '4jzllmte0wau' } };
  const work = (overrides: Partial<DingtalkWorkOptions> = {}) =>
    dingtalkWorkChannel({
      baseUrl: vendor.url,
      apiBaseUrl: vendor.url,
      appKey: 'ding-app-key',
      appSecret: 'ding-app-secret',
      agentId: 2839445214,
      timeoutMs: 2000,
      ...overrides,
    });

  it('takes an access token from the new API and sends an action_card to the user', async () => {
    vendor.on('POST', TOKEN, token('at-1')).on('POST', ASYNC_SEND, accepted);
    const result = await work().send(target, message);

    const [tokenRequest] = vendor.requestsTo('POST', TOKEN);
    expect(tokenRequest!.query).toEqual({});
    expect(tokenRequest!.body).toEqual({ appKey: 'ding-app-key', appSecret: 'ding-app-secret' });
    const [request] = vendor.requestsTo('POST', ASYNC_SEND);
    expect(request!.query).toEqual({ access_token: 'at-1' });
    expect(request!.body).toEqual({
      agent_id: 2839445214,
      userid_list: 'manager4974',
      msg: {
        msgtype: 'action_card',
        action_card: {
          title: listTitle,
          markdown: cardText,
          btn_orientation: '0',
          btn_json_list: buttons('action_url'),
        },
      },
    });
    expect(Buffer.byteLength(JSON.stringify(request!.body.msg))).toBeLessThanOrEqual(2048);
    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false, ref: { taskId: '256271667526' } });
  });

  it('writes the action card in the handler’s locale', async () => {
    vendor.on('POST', TOKEN, token('at-1')).on('POST', ASYNC_SEND, accepted);
    await work().send({ ...target, settings: { locale: 'zh-CN' } }, message);
    const card = vendor.requestsTo('POST', ASYNC_SEND)[0]!.body.msg.action_card;
    expect(card.title).toBe(listTitle.replace('Reminder', '提醒'));
    expect(card.markdown).toContain('> 提醒 · 截止时间 2025-07-04 10:00 UTC · 优先级 高 · 处理人 李四');
    expect(card.btn_json_list.map((b: { title: string }) => b.title)).toEqual(['完成', '转办', '上报异常']);
  });

  it('shortens long details so the message stays within the documented 2048 bytes', async () => {
    vendor.on('POST', TOKEN, token('at-1')).on('POST', ASYNC_SEND, accepted);
    const long = { ...message, matter: { ...message.matter, details: `"引号"\\${'长'.repeat(1000)}` } };
    await work().send(target, long);
    const msg = vendor.requestsTo('POST', ASYNC_SEND)[0]!.body.msg;
    const bytes = Buffer.byteLength(JSON.stringify(msg));
    expect(bytes).toBeLessThanOrEqual(2048);
    expect(bytes).toBeGreaterThan(2040);
    expect(msg.action_card.markdown).toContain('"引号"\\\\长长');
    expect(msg.action_card.markdown).toContain('长…');
    expect(msg.action_card.btn_json_list).toHaveLength(3);
  });

  it('reuses the token until expireIn has passed and renews it once when DingTalk refuses it', async () => {
    let clock = Date.parse('2025-07-01T00:00:00Z');
    vendor
      .on('POST', TOKEN, token('at-1'), token('at-2'), token('at-3'))
      .on(
        'POST',
        ASYNC_SEND,
        accepted,
        accepted,
        { json: { errcode: 42001, errmsg: 'token expired' } },
        accepted,
      );
    const channel = work({ now: () => new Date(clock) });

    await Promise.all([channel.send(target, message), channel.send(target, message)]);
    const renewed = await channel.send(target, message);
    expect(renewed.ok).toBe(true);
    clock += 2 * 60 * 60_000;
    await channel.send(target, message);

    expect(vendor.requestsTo('POST', TOKEN)).toHaveLength(3);
    const tokensSent = vendor.requestsTo('POST', ASYNC_SEND).map((r) => r.query.access_token);
    expect(tokensSent).toEqual(['at-1', 'at-1', 'at-1', 'at-2', 'at-3']);
  });

  it.each([
    [-1, true],
    [90005, true],
    [40035, false],
    [40056, false],
  ])('maps errcode %i to retryable=%s', async (errcode, retryable) => {
    vendor
      .on('POST', TOKEN, token('at-1'))
      .on('POST', ASYNC_SEND, { json: { errcode, errmsg: '不合法的参数', request_id: 'r' } });
    expect(await work().send(target, message)).toEqual({
      ok: false,
      httpStatus: 200,
      error: `dingtalk answered errcode ${errcode}: 不合法的参数`,
      retryable,
    });
  });

  it('does not send when the app credentials are refused', async () => {
    vendor.on('POST', TOKEN, {
      status: 400,
      json: { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret' },
    });
    expect(await work().send(target, message)).toEqual({
      ok: false,
      httpStatus: 400,
      error: 'dingtalk answered 400: invalidClientIdOrSecret',
      retryable: false,
    });
    expect(vendor.requestsTo('POST', ASYNC_SEND)).toHaveLength(0);
  });

  it('recalls the notification by the task id its send returned', async () => {
    vendor
      .on('POST', TOKEN, token('at-1'))
      .on('POST', ASYNC_SEND, accepted)
      .on('POST', RECALL, { json: { errcode: 0, errmsg: 'ok', request_id: 'r2' } });
    const channel = work();
    const delivered = await channel.send(target, message);
    const updated = await channel.update!(target, delivered.ref!, { ...message, type: 'matter.completed' });

    const [request] = vendor.requestsTo('POST', RECALL);
    expect(request!.query).toEqual({ access_token: 'at-1' });
    expect(request!.body).toEqual({ agent_id: 2839445214, msg_task_id: 256271667526 });
    expect(updated).toEqual({ ok: true, httpStatus: 200, retryable: false });
  });

  it('cannot recall without a task id', async () => {
    const refused = await work().update!(target, {}, message);
    expect(refused).toMatchObject({ ok: false, retryable: false });
    expect(vendor.requests).toHaveLength(0);
  });

  it('declares the documented 500 notifications per employee a day', () => {
    expect(work().sendLimits).toEqual([{ max: 500, perMs: 86_400_000 }]);
  });
  describe('with an interactive card template', () => {
    const CARD = '/v1.0/im/interactiveCards';
    const CARD_SEND = `${CARD}/send`;
    const sent = { json: { success: true, result: { processQueryKey: 'pqk-1' } } };
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const carded = (callbackRouteKey: string | null = 'matterflow-cards') =>
      work({ card: { templateId: 'tpl-matter.schema', callbackRouteKey } });

    it('sends the matter as an interactive card with the token in the header, its buttons as card data and the complete token for the callback', async () => {
      vendor.on('POST', TOKEN, token('at-1')).on('POST', CARD_SEND, sent);
      const result = await carded().send(target, message);

      const [request] = vendor.requestsTo('POST', CARD_SEND);
      expect(request!.headers['x-acs-dingtalk-access-token']).toBe('at-1');
      expect(request!.headers['content-type']).toBe('application/json');
      expect(request!.query).toEqual({});
      const outTrackId = request!.body.outTrackId;
      expect(outTrackId).toMatch(UUID);
      expect(request!.body).toEqual({
        cardTemplateId: 'tpl-matter.schema',
        outTrackId,
        conversationType: 0,
        receiverUserIdList: ['manager4974'],
        robotCode: 'ding-app-key',
        callbackRouteKey: 'matterflow-cards',
        cardData: {
          cardParamMap: {
            title: listTitle,
            markdown: cardText,
            status: '',
            actionable: 'true',
            matterUrl: 'https://erp.example.com/po/42?from=mf&x=(1)',
            completeUrl: linkFor('complete'),
            completeLabel: 'Complete',
            completeToken: purchaseOrderToken('complete'),
            transferUrl: linkFor('transfer'),
            transferLabel: 'Transfer',
            exceptionUrl: linkFor('exception'),
            exceptionLabel: 'Report exception',
          },
        },
      });
      expect(vendor.requestsTo('POST', ASYNC_SEND)).toHaveLength(0);
      expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false, ref: { outTrackId } });
    });

    it('writes the card, its buttons and its outcome in the handler’s locale', async () => {
      vendor
        .on('POST', TOKEN, token('at-1'))
        .on('POST', CARD_SEND, sent)
        .on('PUT', CARD, { json: { success: 'true' } });
      const zh: ChannelTarget = { ...target, settings: { locale: 'zh-CN' } };
      const channel = carded();
      const delivered = await channel.send(zh, message);
      await channel.update!(zh, delivered.ref!, {
        ...message,
        type: 'matter.completed',
        handler: { id: 'h-2', name: '王五' },
        actions: [],
      });

      const params = vendor.requestsTo('POST', CARD_SEND)[0]!.body.cardData.cardParamMap;
      expect(params.title).toBe(listTitle.replace('Reminder', '提醒'));
      expect(params.markdown).toContain('> 提醒 · 截止时间 2025-07-04 10:00 UTC · 优先级 高 · 处理人 李四');
      expect(params.markdown).toContain('[打开事项](https://erp.example.com/po/42?from=mf&x=%281%29)');
      expect([params.completeLabel, params.transferLabel, params.exceptionLabel]).toEqual([
        '完成',
        '转办',
        '上报异常',
      ]);
      expect(vendor.requestsTo('PUT', CARD)[0]!.body.cardData.cardParamMap.status).toBe('王五 已完成');
    });

    it('leaves callbackRouteKey out when none is configured, so DingTalk uses the app’s own callback URL', async () => {
      vendor.on('POST', TOKEN, token('at-1')).on('POST', CARD_SEND, sent);
      await carded(null).send(target, message);
      expect(vendor.requestsTo('POST', CARD_SEND)[0]!.body).not.toHaveProperty('callbackRouteKey');
    });

    it('gives a retried notice the same outTrackId and another notice a different one', async () => {
      vendor.on('POST', TOKEN, token('at-1')).on('POST', CARD_SEND, sent);
      const channel = carded();
      for (const idempotencyKey of ['matter-m-1:7:h-1', 'matter-m-1:7:h-1', 'matter-m-1:8:h-1']) {
        await channel.send(target, { ...message, idempotencyKey });
      }
      const ids = vendor.requestsTo('POST', CARD_SEND).map((r) => r.body.outTrackId);
      expect(ids[0]).toBe(ids[1]);
      expect(ids[2]).not.toBe(ids[0]);
    });

    it('sends a notice with nothing to press, once the matter has ended, as the plain work notification', async () => {
      vendor
        .on('POST', TOKEN, token('at-1'))
        .on('POST', ASYNC_SEND, { json: { errcode: 0, errmsg: 'ok', task_id: 7 } });
      const ended = { ...message, type: 'matter.completed' as const, actions: [] };
      const result = await carded().send(target, {
        ...ended,
        matter: { ...ended.matter, status: 'completed' },
      });
      expect(vendor.requestsTo('POST', CARD_SEND)).toHaveLength(0);
      expect(vendor.requestsTo('POST', ASYNC_SEND)[0]!.body.msg.msgtype).toBe('markdown');
      expect(result.ref).toEqual({ taskId: '7' });
    });

    it('updates the sent card by its outTrackId with the outcome as its status and no buttons', async () => {
      vendor
        .on('POST', TOKEN, token('at-1'))
        .on('POST', CARD_SEND, sent)
        .on('PUT', CARD, { json: { success: 'true' } });
      const channel = carded();
      const delivered = await channel.send(target, message);
      const updated = await channel.update!(target, delivered.ref!, {
        ...message,
        type: 'matter.completed',
        handler: { id: 'h-2', name: '王五' },
        actions: [],
      });

      const [request] = vendor.requestsTo('PUT', CARD);
      expect(request!.headers['x-acs-dingtalk-access-token']).toBe('at-1');
      expect(request!.body).toEqual({
        outTrackId: delivered.ref!.outTrackId,
        cardData: { cardParamMap: { status: 'Completed by 王五', actionable: 'false', completeToken: '' } },
        cardOptions: { updateCardDataByKey: true },
      });
      expect(updated).toEqual({ ok: true, httpStatus: 200, retryable: false });
      expect(vendor.requestsTo('POST', RECALL)).toHaveLength(0);
    });

    it('still recalls an action card sent before the template was configured', async () => {
      vendor.on('POST', TOKEN, token('at-1')).on('POST', RECALL, { json: { errcode: 0, errmsg: 'ok' } });
      const updated = await carded().update!(target, { taskId: '256271667526' }, message);
      expect(vendor.requestsTo('POST', RECALL)[0]!.body).toEqual({
        agent_id: 2839445214,
        msg_task_id: 256271667526,
      });
      expect(vendor.requestsTo('PUT', CARD)).toHaveLength(0);
      expect(updated.ok).toBe(true);
    });

    it.each([
      [400, 'param.error', false],
      [403, 'Forbidden.AccessDenied.AccessTokenPermissionDenied', false],
      [503, 'ServiceUnavailable', true],
    ])('maps a card send answered %i %s to retryable=%s', async (status, code, retryable) => {
      vendor
        .on('POST', TOKEN, token('at-1'))
        .on('POST', CARD_SEND, { status, json: { code, message: '参数错误', requestid: 'r' } });
      expect(await carded().send(target, message)).toEqual({
        ok: false,
        httpStatus: status,
        error: `dingtalk answered ${status}: ${code}`,
        retryable,
      });
    });
  });
});
