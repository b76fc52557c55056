import { describe, expect, it } from 'vitest';
import type { ChannelTarget } from '../../src/channels/channel.js';
import { parseWecomButtonKey, wecomAppChannel, wecomRobotChannel } from '../../src/channels/wecom.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import {
  completedNotice,
  purchaseOrderLink as linkFor,
  purchaseOrderReminder as message,
  purchaseOrderToken as tokenFor,
} from '../support/outbound-message.js';

const completed = completedNotice(message);
const target: ChannelTarget = { type: 'wecom', address: 'LiSi', settings: {} };
const inLocale = (t: ChannelTarget, locale: string): ChannelTarget => ({ ...t, settings: { locale } });
const SEND = '/cgi-bin/message/send';
const GETTOKEN = '/cgi-bin/gettoken';

const vendor = useFakeVendor();
const tokensSent = () => vendor.requestsTo('POST', SEND).map((r) => r.query.access_token);

function appChannel(overrides: { now?: () => Date; timeoutMs?: number } = {}) {
  return wecomAppChannel({
    baseUrl: vendor.url,
    corpId: 'ww-corp',
    corpSecret: 'app-secret',
    agentId: 1000002,
    timeoutMs: overrides.timeoutMs ?? 2000,
    ...(overrides.now ? { now: overrides.now } : {}),
  });
}

const token = (accessToken: string, expiresIn = 7200) => ({
  json: { errcode: 0, errmsg: 'ok', access_token: accessToken, expires_in: expiresIn },
});
const sent = (responseCode = 'rc-abc') => ({
  json: { errcode: 0, errmsg: 'ok', invaliduser: '', msgid: 'msg-1', response_code: responseCode },
});

describe('WeCom app channel', () => {
  it('sends a button_interaction card with the matter, a keyed button per action and the action links', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, sent());
    const result = await appChannel().send(target, message);

    const [tokenRequest] = vendor.requestsTo('GET', GETTOKEN);
    expect(tokenRequest!.query).toEqual({ corpid: 'ww-corp', corpsecret: 'app-secret' });
    const [request] = vendor.requestsTo('POST', SEND);
    expect(request!.query).toEqual({ access_token: 'tok-1' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.raw).toContain('审批采购单');
    expect(request!.body).toEqual({
      touser: 'LiSi',
      msgtype: 'template_card',
      agentid: 1000002,
      template_card: {
        card_type: 'button_interaction',
        main_title: { title: message.matter.title, desc: 'Reminder' },
        sub_title_text: message.matter.details,
        horizontal_content_list: [
          { keyname: 'Due', value: '2025-07-04 10:00 UTC' },
          { type: 1, keyname: 'Complete', value: 'Open', url: linkFor('complete') },
          { type: 1, keyname: 'Transfer', value: 'Open', url: linkFor('transfer') },
          { type: 1, keyname: 'Report exception', value: 'Open', url: linkFor('exception') },
          { keyname: 'Priority', value: 'high' },
        ],
        card_action: { type: 1, url: message.matter.link },
        task_id: expect.any(String),
        button_list: [
          { text: 'Complete', style: 1, key: `mf:complete:${tokenFor('complete')}` },
          { text: 'Transfer', style: 2, key: `mf:transfer:${tokenFor('transfer')}` },
          { text: 'Report exception', style: 2, key: `mf:exception:${tokenFor('exception')}` },
        ],
      },
      enable_duplicate_check: 1,
      duplicate_check_interval: 14400,
    });
    const card = request!.body.template_card;
    expect(card.button_list.map((b: { key: string }) => parseWecomButtonKey(b.key))).toEqual(
      ['complete', 'transfer', 'exception'].map((action) => ({ action, token: tokenFor(action) })),
    );
    expect(result).toEqual({
      ok: true,
      httpStatus: 200,
      retryable: false,
      ref: { responseCode: 'rc-abc', taskId: card.task_id },
    });
  });

  it('derives a task_id within WeCom limits that is stable per idempotency key and differs between keys', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, sent());
    const channel = appChannel();
    const oddKey = `wf:matter/申请 #1:${'x'.repeat(300)}:h 1`;
    for (const idempotencyKey of ['matter-m-1:7:h-1', 'matter-m-1:7:h-1', 'matter-m-1:8:h-1', oddKey]) {
      await channel.send(target, { ...message, idempotencyKey });
    }
    const taskIds = vendor.requestsTo('POST', SEND).map((r) => r.body.template_card.task_id as string);
    for (const taskId of taskIds) {
      expect(taskId).toMatch(/^[A-Za-z0-9_\-@]+$/);
      expect(Buffer.byteLength(taskId)).toBeLessThanOrEqual(128);
    }
    expect(taskIds[0]).toBe(taskIds[1]);
    expect(new Set(taskIds).size).toBe(3);
  });

  it('fetches one access token for concurrent sends and another once expires_in has passed', async () => {
    let clock = Date.parse('2025-07-01T00:00:00Z');
    vendor.on('GET', GETTOKEN, token('tok-1', 7200), token('tok-2', 7200)).on('POST', SEND, sent());
    const channel = appChannel({ now: () => new Date(clock) });

    await Promise.all([1, 2, 3].map(() => channel.send(target, message)));
    clock += 60 * 60_000;
    await channel.send(target, message);
    expect(vendor.requestsTo('GET', GETTOKEN)).toHaveLength(1);

    clock += 60 * 60_000;
    await channel.send(target, message);
    expect(vendor.requestsTo('GET', GETTOKEN)).toHaveLength(2);
    expect(tokensSent()).toEqual(['tok-1', 'tok-1', 'tok-1', 'tok-1', 'tok-2']);
  });

  it('renews an expired token once and sends again with the new one', async () => {
    vendor
      .on('GET', GETTOKEN, token('tok-1'), token('tok-2'))
      .on('POST', SEND, { json: { errcode: 42001, errmsg: 'access_token expired' } }, sent());
    const result = await appChannel().send(target, message);
    expect(result.ok).toBe(true);
    expect(tokensSent()).toEqual(['tok-1', 'tok-2']);
  });

  it('gives up when the renewed token is refused as well', async () => {
    vendor
      .on('GET', GETTOKEN, token('tok-1'), token('tok-2'))
      .on('POST', SEND, { json: { errcode: 40014, errmsg: 'invalid access_token' } });
    const result = await appChannel().send(target, message);
    expect(result).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining('40014') });
    expect(vendor.requestsTo('GET', GETTOKEN)).toHaveLength(2);
    expect(vendor.requestsTo('POST', SEND)).toHaveLength(2);
  });

  it.each([
    [-1, true],
    [45009, true],
    [45033, true],
    [81013, false],
    [40058, false],
  ])('maps errcode %i to retryable=%s', async (errcode, retryable) => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, { json: { errcode, errmsg: '系统繁忙' } });
    const result = await appChannel().send(target, message);
    expect(result).toEqual({
      ok: false,
      httpStatus: 200,
      error: `wecom answered errcode ${errcode}: 系统繁忙`,
      retryable,
    });
  });

  it.each([
    [502, true],
    [429, true],
    [400, false],
  ])('maps HTTP %i to retryable=%s', async (status, retryable) => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, { status, text: 'upstream trouble' });
    const result = await appChannel().send(target, message);
    expect(result).toEqual({ ok: false, httpStatus: status, error: `wecom answered ${status}`, retryable });
  });

  it('treats a vendor that does not answer in time as worth retrying', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, { ...sent(), delayMs: 1000 });
    const result = await appChannel({ timeoutMs: 200 }).send(target, message);
    expect(result).toMatchObject({
      ok: false,
      retryable: true,
      error: expect.stringMatching(/^request failed/),
    });
  });

  it('reports a recipient WeCom refused even though it answered errcode 0', async () => {
    vendor
      .on('GET', GETTOKEN, token('tok-1'))
      .on('POST', SEND, { json: { errcode: 0, errmsg: 'ok', invaliduser: 'lisi' } });
    const result = await appChannel().send(target, message);
    expect(result).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringContaining('invaliduser'),
    });
  });

  it('does not send when no access token can be had, and says whether that can change', async () => {
    vendor.on('GET', GETTOKEN, { json: { errcode: 40001, errmsg: 'invalid credential' } });
    const refused = await appChannel().send(target, message);
    expect(refused).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining('40001') });

    vendor.on('GET', GETTOKEN, { json: { errcode: -1, errmsg: 'system busy' } });
    expect(await appChannel().send(target, message)).toMatchObject({ ok: false, retryable: true });
    expect(vendor.requestsTo('POST', SEND)).toHaveLength(0);
  });

  it('sends notices without actions as markdown, with nothing to update later', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, { json: { errcode: 0, errmsg: 'ok' } });
    const result = await appChannel().send(target, completed);
    const [request] = vendor.requestsTo('POST', SEND);
    expect(request!.body).toMatchObject({
      touser: 'LiSi',
      msgtype: 'markdown',
      agentid: 1000002,
      enable_duplicate_check: 1,
      duplicate_check_interval: 14400,
    });
    expect(request!.body.markdown.content).toContain('> Completed · Due 2025-07-04 10:00 UTC');
    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false });
  });

  it('offers an open matter without actions (a group offer) as a card whose one button opens the matter, so it can be greyed out later', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, sent('rc-offer'));
    const result = await appChannel().send(target, { ...message, actions: [] });
    const [request] = vendor.requestsTo('POST', SEND);
    expect(request!.body.msgtype).toBe('template_card');
    expect(request!.body.template_card.button_list).toEqual([
      { text: 'Open matter', style: 1, type: 1, url: message.matter.link },
    ]);
    expect(result.ref).toMatchObject({ responseCode: 'rc-offer' });
  });

  it('greys the card out under the outcome, using the response_code the send returned', async () => {
    vendor
      .on('GET', GETTOKEN, token('tok-1'))
      .on('POST', SEND, sent('rc-xyz'))
      .on('POST', '/cgi-bin/message/update_template_card', { json: { errcode: 0, errmsg: 'ok' } });
    const channel = appChannel();
    const delivered = await channel.send(target, message);
    const updated = await channel.update!(target, delivered.ref!, completed);

    const [request] = vendor.requestsTo('POST', '/cgi-bin/message/update_template_card');
    expect(request!.query).toEqual({ access_token: 'tok-1' });
    expect(request!.body).toEqual({
      userids: ['LiSi'],
      agentid: 1000002,
      response_code: 'rc-xyz',
      button: { replace_name: 'Completed by 李四' },
    });
    expect(updated).toEqual({ ok: true, httpStatus: 200, retryable: false });
    expect(vendor.requestsTo('GET', GETTOKEN)).toHaveLength(1);
  });

  it('writes Chinese labels on the card for a zh-CN handler, English for an en handler, keeping the button keys', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, sent());
    await appChannel().send(inLocale(target, 'zh-CN'), message);
    await appChannel().send(inLocale(target, 'en'), message);

    const [zh, en] = vendor.requestsTo('POST', SEND).map((r) => r.body.template_card);
    expect(zh.main_title.desc).toBe('提醒');
    expect(zh.horizontal_content_list).toEqual([
      { keyname: '截止时间', value: '2025-07-04 10:00 UTC' },
      { type: 1, keyname: '完成', value: '打开', url: linkFor('complete') },
      { type: 1, keyname: '转办', value: '打开', url: linkFor('transfer') },
      { type: 1, keyname: '上报异常', value: '打开', url: linkFor('exception') },
      { keyname: '优先级', value: '高' },
    ]);
    expect(zh.button_list).toEqual([
      { text: '完成', style: 1, key: `mf:complete:${tokenFor('complete')}` },
      { text: '转办', style: 2, key: `mf:transfer:${tokenFor('transfer')}` },
      { text: '上报异常', style: 2, key: `mf:exception:${tokenFor('exception')}` },
    ]);
    expect(en.main_title.desc).toBe('Reminder');
    expect(en.horizontal_content_list[0]).toEqual({ keyname: 'Due', value: '2025-07-04 10:00 UTC' });
    expect(en.button_list.map((b: { text: string }) => b.text)).toEqual([
      'Complete',
      'Transfer',
      'Report exception',
    ]);
  });

  it('greys a zh-CN handler’s card out under the outcome in Chinese', async () => {
    vendor
      .on('GET', GETTOKEN, token('tok-1'))
      .on('POST', '/cgi-bin/message/update_template_card', { json: { errcode: 0, errmsg: 'ok' } });
    await appChannel().update!(inLocale(target, 'zh-CN'), { responseCode: 'rc-zh' }, completed);

    const [request] = vendor.requestsTo('POST', '/cgi-bin/message/update_template_card');
    expect(request!.body.button).toEqual({ replace_name: '李四 已完成' });
  });

  it('offers a zh-CN handler’s group matter with a Chinese button that opens it', async () => {
    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', SEND, sent('rc-offer'));
    await appChannel().send(inLocale(target, 'zh-CN'), { ...message, actions: [] });

    expect(vendor.requestsTo('POST', SEND)[0]!.body.template_card.button_list).toEqual([
      { text: '打开事项', style: 1, type: 1, url: message.matter.link },
    ]);
  });

  it('cannot update a card whose response_code is missing or spent', async () => {
    const channel = appChannel();
    const missing = await channel.update!(target, { taskId: 't-1' }, completed);
    expect(missing).toMatchObject({ ok: false, retryable: false });
    expect(vendor.requests).toHaveLength(0);

    vendor.on('GET', GETTOKEN, token('tok-1')).on('POST', '/cgi-bin/message/update_template_card', {
      json: { errcode: 60140, errmsg: 'invalid response_code' },
    });
    const spent = await channel.update!(target, { taskId: 't-1', responseCode: 'used' }, completed);
    expect(spent).toMatchObject({ ok: false, retryable: false, error: expect.stringContaining('60140') });
  });

  it('honours the documented sends per member', () => {
    expect(appChannel().sendLimits).toEqual([
      { max: 30, perMs: 60_000 },
      { max: 1000, perMs: 3_600_000 },
    ]);
  });
});

describe('WeCom group robot channel', () => {
  const robot = () => wecomRobotChannel({ baseUrl: vendor.url, timeoutMs: 2000 });
  const robotTarget: ChannelTarget = { type: 'wecom-robot', address: 'robot-key/1?x', settings: {} };
  const WEBHOOK = '/cgi-bin/webhook/send';

  it('posts the matter as markdown to the robot key, with the action links and the matter text escaped', async () => {
    vendor.on('POST', WEBHOOK, { json: { errcode: 0, errmsg: 'ok' } });
    const result = await robot().send(robotTarget, message);

    const [request] = vendor.requestsTo('POST', WEBHOOK);
    expect(request!.query).toEqual({ key: 'robot-key/1?x' });
    expect(request!.body).toEqual({
      msgtype: 'markdown',
      markdown: {
        content: [
          '### 审批采购单 "PO-42" \\<紧急\\> & \\[财务\\] \\*加急\\* 50% \\\\ 路径',
          '> Reminder · Due 2025-07-04 10:00 UTC · Priority high · Handler 李四',
          '请在周五前处理：\n1. 核对发票 \\#A-1\n2. 联系供应商 \\`张三\\` \\> 确认金额',
          [
            `[Complete](${linkFor('complete')})`,
            `[Transfer](${linkFor('transfer')})`,
            `[Report exception](${linkFor('exception')})`,
            '[Open matter](https://erp.example.com/po/42?from=mf&x=%281%29)',
          ].join('  '),
        ].join('\n\n'),
      },
    });
    expect(result).toEqual({ ok: true, httpStatus: 200, retryable: false });
  });

  it('writes the robot markdown in Chinese for a zh-CN target', async () => {
    vendor.on('POST', WEBHOOK, { json: { errcode: 0, errmsg: 'ok' } });
    await robot().send(inLocale(robotTarget, 'zh-CN'), message);

    const content = vendor.requestsTo('POST', WEBHOOK)[0]!.body.markdown.content as string;
    expect(content.split('\n\n')).toEqual([
      '### 审批采购单 "PO-42" \\<紧急\\> & \\[财务\\] \\*加急\\* 50% \\\\ 路径',
      '> 提醒 · 截止时间 2025-07-04 10:00 UTC · 优先级 高 · 处理人 李四',
      '请在周五前处理：\n1. 核对发票 \\#A-1\n2. 联系供应商 \\`张三\\` \\> 确认金额',
      [
        `[完成](${linkFor('complete')})`,
        `[转办](${linkFor('transfer')})`,
        `[上报异常](${linkFor('exception')})`,
        '[打开事项](https://erp.example.com/po/42?from=mf&x=%281%29)',
      ].join('  '),
    ]);
  });

  it('shortens long details so the content stays within 4096 bytes and keeps the links', async () => {
    vendor.on('POST', WEBHOOK, { json: { errcode: 0, errmsg: 'ok' } });
    const long = { ...message, matter: { ...message.matter, details: '长'.repeat(3000) } };
    await robot().send(robotTarget, long);
    const content = vendor.requestsTo('POST', WEBHOOK)[0]!.body.markdown.content as string;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(content)).toBeGreaterThan(4000);
    expect(content).toContain('长…');
    expect(content).toContain(`[Report exception](${linkFor('exception')})`);
  });

  it('maps the frequency limit to retryable and a bad key to not retryable', async () => {
    vendor.on('POST', WEBHOOK, { json: { errcode: 45009, errmsg: 'api freq out of limit' } });
    expect(await robot().send(robotTarget, message)).toMatchObject({ ok: false, retryable: true });
    vendor.on('POST', WEBHOOK, { json: { errcode: 93000, errmsg: 'invalid webhook url' } });
    expect(await robot().send(robotTarget, message)).toMatchObject({ ok: false, retryable: false });
  });

  it('declares the documented 20 messages a minute and offers no update', () => {
    expect(robot().sendLimits).toEqual([{ max: 20, perMs: 60_000 }]);
    expect(robot().update).toBeUndefined();
  });
});
