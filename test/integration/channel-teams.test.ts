import { beforeEach, describe, expect, it } from 'vitest';
import type { ChannelTarget } from '../../src/channels/channel.js';
import { teamsChannel } from '../../src/channels/teams.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { allowingOnly } from '../support/outbound.js';
import { outboundMessage } from '../support/outbound-message.js';

const DETAILS = '请在周五前完成：金额 > 100 & < 500 的项\n<b>不是 HTML</b> "引号" \\ {x}';

const message = outboundMessage({
  type: 'matter.escalated',
  matter: { details: DETAILS, priority: 'urgent' },
  handler: { id: 'u-li', name: '李四' },
  idempotencyKey: 'matter:erp:ERP-42:7:u-li',
});

const WORKFLOW_PATH = '/workflows/6f0c1d/triggers/manual/paths/invoke';

const vendor = useFakeVendor();
let target: ChannelTarget;

beforeEach(() => {
  target = {
    type: 'teams',
    address: `${vendor.url}${WORKFLOW_PATH}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sig=abc`,
    settings: {},
  };
});

const channel = () => teamsChannel({ timeoutMs: 2_000, outbound: allowingOnly(vendor.url) });

describe('Microsoft Teams (Workflows webhook)', () => {
  it('posts a message with one Adaptive Card attachment to the workflow URL, query string intact', async () => {
    vendor.on('POST', WORKFLOW_PATH, { status: 202, text: '' });

    const result = await channel().send(target, message);

    expect(result).toEqual({ ok: true, httpStatus: 202, retryable: false });
    const [post] = vendor.requestsTo('POST', WORKFLOW_PATH);
    expect(post!.query).toEqual({ 'api-version': '1', sp: '/triggers/manual/run', sig: 'abc' });
    expect(post!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(post!.body.type).toBe('message');
    expect(post!.body.attachments).toHaveLength(1);
    const [attachment] = post!.body.attachments;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment.contentUrl).toBeNull();
    expect(attachment.content).toMatchObject({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
    });
  });

  it('shows title, details and facts as sent, and turns each action link into an Action.OpenUrl', async () => {
    vendor.on('POST', WORKFLOW_PATH, { status: 202, text: '' });

    await channel().send(target, message);

    const card = vendor.requestsTo('POST', WORKFLOW_PATH)[0]!.body.attachments[0].content;
    expect(card.body).toEqual([
      { type: 'TextBlock', text: 'Matter escalated', isSubtle: true, size: 'Small', wrap: true },
      {
        type: 'TextBlock',
        text: '核对 <金库> 台账 & 报表',
        size: 'Large',
        weight: 'Bolder',
        wrap: true,
        color: 'Attention',
      },
      { type: 'TextBlock', text: DETAILS, wrap: true },
      {
        type: 'FactSet',
        facts: [
          { title: 'Due', value: '{{DATE(2026-07-03T09:30:00Z, SHORT)}} {{TIME(2026-07-03T09:30:00Z)}}' },
          { title: 'Priority', value: 'urgent' },
        ],
      },
    ]);
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Complete', url: 'https://mf.example.com/a/tok-complete' },
      { type: 'Action.OpenUrl', title: 'Transfer', url: 'https://mf.example.com/a/tok-transfer' },
      { type: 'Action.OpenUrl', title: 'Open in erp', url: 'https://erp.example.com/m/42?a=1&b=2' },
    ]);
  });

  it('writes Chinese labels for a zh-CN handler and English for an en handler', async () => {
    vendor.on('POST', WORKFLOW_PATH, { status: 202, text: '' });

    await channel().send({ ...target, settings: { locale: 'zh-CN' } }, message);
    await channel().send({ ...target, settings: { locale: 'en' } }, message);

    const [zh, en] = vendor.requestsTo('POST', WORKFLOW_PATH).map((r) => r.body.attachments[0].content);
    const due = '{{DATE(2026-07-03T09:30:00Z, SHORT)}} {{TIME(2026-07-03T09:30:00Z)}}';
    expect(zh.body[0].text).toBe('事项已升级');
    expect(zh.body.at(-1).facts).toEqual([
      { title: '截止时间', value: due },
      { title: '优先级', value: '紧急' },
    ]);
    expect(zh.actions.map((a: { title: string }) => a.title)).toEqual(['完成', '转办', '在 erp 中打开']);
    expect(en.body[0].text).toBe('Matter escalated');
    expect(en.body.at(-1).facts).toEqual([
      { title: 'Due', value: due },
      { title: 'Priority', value: 'urgent' },
    ]);
    expect(en.actions.map((a: { title: string }) => a.title)).toEqual([
      'Complete',
      'Transfer',
      'Open in erp',
    ]);
  });

  it('accepts 200 from a workflow as delivered', async () => {
    vendor.on('POST', WORKFLOW_PATH, { status: 200, text: '1' });

    expect(await channel().send(target, message)).toEqual({ ok: true, httpStatus: 200, retryable: false });
  });

  it.each([
    { status: 429, retryable: true },
    { status: 500, retryable: true },
    { status: 503, retryable: true },
    { status: 400, retryable: false },
    { status: 401, retryable: false },
    { status: 404, retryable: false },
  ])('maps HTTP $status to retryable=$retryable', async ({ status, retryable }) => {
    vendor.on('POST', WORKFLOW_PATH, { status, json: { error: { code: 'x', message: 'y' } } });

    const result = await channel().send(target, message);

    expect(result).toEqual({
      ok: false,
      httpStatus: status,
      error: `teams workflow answered ${status}`,
      retryable,
    });
  });

  it('reports an unreachable workflow as retryable', async () => {
    vendor.on('POST', WORKFLOW_PATH, { status: 202, text: '', delayMs: 500 });

    const result = await teamsChannel({ timeoutMs: 100, outbound: allowingOnly(vendor.url) }).send(
      target,
      message,
    );

    expect(result).toMatchObject({ ok: false, retryable: true });
  });

  it('offers no update, since a workflow webhook cannot edit a posted card, and documents 4 requests per second', () => {
    const teams = channel();
    expect(teams.update).toBeUndefined();
    expect(teams.sendLimits).toEqual([{ max: 4, perMs: 1_000 }]);
  });
});
