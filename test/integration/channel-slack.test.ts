import { describe, expect, it } from 'vitest';
import type { ChannelTarget } from '../../src/channels/channel.js';
import { slackChannel } from '../../src/channels/slack.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { actionLinks, completedNotice, outboundMessage } from '../support/outbound-message.js';

const message = outboundMessage({
  matter: {
    title: '核对 <金库> 台账 & 报表 *紧急*',
    details: '请在周五前完成：金额 > 100 & < 500 的项 <@U0ADMIN> <!channel> <https://evil.example|点这里>',
  },
  actions: actionLinks('complete', 'exception'),
});

const completed = completedNotice(message, { data: { outcome: '已核对 <无差异> & 归档' } });

const target: ChannelTarget = { type: 'slack', address: 'U024BE7LH', settings: {} };
const posted = { json: { ok: true, channel: 'D024BE91L', ts: '1503435956.000247', message: {} } };

const vendor = useFakeVendor();

const channel = () => slackChannel({ baseUrl: vendor.url, botToken: 'xoxb-test-token', timeoutMs: 2_000 });

/** Every text Slack would parse in the blocks, to check none carries a raw control character. */
function texts(blocks: any[]): string[] {
  const out: string[] = [];
  const visit = (node: any) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      if (typeof node.text === 'string') out.push(node.text);
      Object.values(node).forEach(visit);
    }
  };
  visit(blocks);
  return out;
}

const rateLimited = (retryAfter: string) => ({
  status: 429,
  headers: { 'retry-after': retryAfter },
  json: { ok: false, error: 'ratelimited' },
});

describe('Slack (chat.postMessage, chat.update)', () => {
  it('posts with the bot token to chat.postMessage, without unfurling, and keeps channel and ts for the update', async () => {
    vendor.on('POST', '/chat.postMessage', posted);

    const result = await channel().send(target, message);

    expect(result).toEqual({
      ok: true,
      httpStatus: 200,
      retryable: false,
      ref: { channel: 'D024BE91L', ts: '1503435956.000247' },
    });
    const [post] = vendor.requestsTo('POST', '/chat.postMessage');
    expect(post!.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(post!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(post!.body).toMatchObject({
      channel: 'U024BE7LH',
      text: 'Matter reminder: 核对 &lt;金库&gt; 台账 &amp; 报表 *紧急*',
      unfurl_links: false,
      unfurl_media: false,
    });
  });

  it('builds header, details, fields and an actions block whose buttons open the action links and call back', async () => {
    vendor.on('POST', '/chat.postMessage', posted);

    await channel().send(target, message);

    const blocks = vendor.requestsTo('POST', '/chat.postMessage')[0]!.body.blocks;
    expect(blocks.map((b: { type: string }) => b.type)).toEqual([
      'header',
      'context',
      'section',
      'section',
      'actions',
    ]);
    expect(blocks[0].text).toEqual({ type: 'plain_text', text: '核对 &lt;金库&gt; 台账 &amp; 报表 *紧急*' });
    expect(blocks[2].text).toEqual({
      type: 'mrkdwn',
      text: '请在周五前完成：金额 &gt; 100 &amp; &lt; 500 的项 &lt;@U0ADMIN&gt; &lt;!channel&gt; &lt;https://evil.example|点这里&gt;',
    });
    expect(blocks[3].fields).toEqual([
      {
        type: 'mrkdwn',
        text: '*Due*\n<!date^1783071000^{date_short_pretty} {time}|2026-07-03 09:30 UTC>',
      },
      { type: 'mrkdwn', text: '*Priority*\nhigh' },
    ]);
    expect(blocks[4].elements).toEqual([
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Complete' },
        action_id: 'complete',
        value: 'm-42',
        url: 'https://mf.example.com/a/tok-complete',
        style: 'primary',
      },
      {
        type: 'button',
        text: { type: 'plain_text', text: 'File exception' },
        action_id: 'exception',
        value: 'm-42',
        url: 'https://mf.example.com/a/tok-exception',
      },
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Open in erp' },
        action_id: 'open_link',
        value: 'm-42',
        url: 'https://erp.example.com/m/42?a=1&b=2',
      },
    ]);
    const withoutOurDateToken = texts(blocks).map((t) => t.replace(/<!date\^[^>]*>/, ''));
    for (const text of withoutOurDateToken) expect(text).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
  });

  it('gives every link button its own action_id, as Slack refuses a block that repeats one, and keeps complete for the callback', async () => {
    vendor.on('POST', '/chat.postMessage', posted);
    const attachments = [
      { name: '对账单.pdf', url: 'https://files.example.com/1' },
      { name: '差异说明.xlsx', url: 'https://files.example.com/2' },
    ];

    // An exception filing offers no actions: the matter link and both attachments are all link buttons.
    await channel().send(target, { ...message, type: 'exception.filed', actions: [], data: { attachments } });
    await channel().send(target, { ...message, actions: actionLinks('complete'), data: { attachments } });

    const ids = vendor
      .requestsTo('POST', '/chat.postMessage')
      .map((r) => r.body.blocks.at(-1).elements.map((b: { action_id: string }) => b.action_id));
    expect(ids).toEqual([
      ['open_link', 'open_link_2', 'open_link_3'],
      ['complete', 'open_link', 'open_link_2', 'open_link_3'],
    ]);
  });

  it('writes Chinese labels for a zh-CN handler and English for an en handler, the action_ids as they were', async () => {
    vendor.on('POST', '/chat.postMessage', posted);

    await channel().send({ ...target, settings: { locale: 'zh-CN' } }, message);
    await channel().send({ ...target, settings: { locale: 'en' } }, message);

    const [zh, en] = vendor.requestsTo('POST', '/chat.postMessage').map((r) => r.body);
    expect(zh.text).toBe('事项提醒：核对 &lt;金库&gt; 台账 &amp; 报表 *紧急*');
    expect(zh.blocks[1].elements).toEqual([{ type: 'mrkdwn', text: '事项提醒' }]);
    expect(zh.blocks[3].fields).toEqual([
      {
        type: 'mrkdwn',
        text: '*截止时间*\n<!date^1783071000^{date_short_pretty} {time}|2026-07-03 09:30 UTC>',
      },
      { type: 'mrkdwn', text: '*优先级*\n高' },
    ]);
    const buttons = (body: { blocks: { elements: { text: { text: string }; action_id: string }[] }[] }) =>
      body.blocks[4]!.elements.map((b) => [b.text.text, b.action_id]);
    expect(buttons(zh)).toEqual([
      ['完成', 'complete'],
      ['上报异常', 'exception'],
      ['在 erp 中打开', 'open_link'],
    ]);
    expect(en.text).toBe('Matter reminder: 核对 &lt;金库&gt; 台账 &amp; 报表 *紧急*');
    expect(en.blocks[3].fields[1]).toEqual({ type: 'mrkdwn', text: '*Priority*\nhigh' });
    expect(buttons(en)).toEqual([
      ['Complete', 'complete'],
      ['File exception', 'exception'],
      ['Open in erp', 'open_link'],
    ]);
  });

  it('cuts an over-long title to the header limit of 150 characters without splitting an entity', async () => {
    vendor.on('POST', '/chat.postMessage', posted);

    await channel().send(target, { ...message, matter: { ...message.matter, title: '&'.repeat(200) } });

    const header = vendor.requestsTo('POST', '/chat.postMessage')[0]!.body.blocks[0].text.text as string;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header).toMatch(/^(&amp;)+…$/);
  });

  it.each(['channel_not_found', 'not_authed', 'invalid_auth', 'invalid_blocks'])(
    'reports ok:false with %s (HTTP 200) as not retryable',
    async (error) => {
      vendor.on('POST', '/chat.postMessage', { json: { ok: false, error } });

      const result = await channel().send(target, message);

      expect(result).toEqual({
        ok: false,
        httpStatus: 200,
        error: `slack answered ${error}`,
        retryable: false,
      });
    },
  );

  it('reports a server error as retryable', async () => {
    vendor.on('POST', '/chat.postMessage', { status: 503, text: 'upstream unavailable' });

    const result = await channel().send(target, message);

    expect(result).toMatchObject({ ok: false, httpStatus: 503, retryable: true });
  });

  it('waits out a short Retry-After on HTTP 429 and posts again', async () => {
    vendor.on('POST', '/chat.postMessage', rateLimited('1'), posted);

    const result = await channel().send(target, message);

    expect(result).toMatchObject({ ok: true, ref: { channel: 'D024BE91L', ts: '1503435956.000247' } });
    const posts = vendor.requestsTo('POST', '/chat.postMessage');
    expect(posts).toHaveLength(2);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(posts[1]!.body).toEqual(posts[0]!.body);
  });

  it('hands a long Retry-After back as a retryable failure that says how long to wait', async () => {
    vendor.on('POST', '/chat.postMessage', rateLimited('30'), posted);

    const result = await channel().send(target, message);

    expect(result).toEqual({
      ok: false,
      httpStatus: 429,
      error: 'slack answered ratelimited; retry after 30s',
      retryable: true,
    });
    expect(vendor.requestsTo('POST', '/chat.postMessage')).toHaveLength(1);
  });

  it('documents one message per second per channel', () => {
    expect(channel().sendLimits).toEqual([{ max: 1, perMs: 1_000 }]);
  });

  it('updates the message through chat.update with its channel and ts, the outcome replacing the buttons', async () => {
    vendor.on('POST', '/chat.update', posted);

    const result = await channel().update!(
      target,
      { channel: 'D024BE91L', ts: '1503435956.000247' },
      completed,
    );

    expect(result).toMatchObject({ ok: true, httpStatus: 200 });
    const [update] = vendor.requestsTo('POST', '/chat.update');
    expect(update!.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(update!.body).toMatchObject({
      channel: 'D024BE91L',
      ts: '1503435956.000247',
      text: 'Matter completed: 核对 &lt;金库&gt; 台账 &amp; 报表 *紧急*',
    });
    const blocks = update!.body.blocks;
    expect(blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    expect(blocks[1].text.text).toBe('*Matter completed*\n*Outcome:* 已核对 &lt;无差异&gt; &amp; 归档');
  });

  it('writes the outcome on a zh-CN handler’s message in Chinese', async () => {
    vendor.on('POST', '/chat.update', posted);

    await channel().update!(
      { ...target, settings: { locale: 'zh-CN' } },
      { channel: 'D024BE91L', ts: '1503435956.000247' },
      completed,
    );

    const { text, blocks } = vendor.requestsTo('POST', '/chat.update')[0]!.body;
    expect(text).toBe('事项已完成：核对 &lt;金库&gt; 台账 &amp; 报表 *紧急*');
    expect(blocks[1].text.text).toBe('*事项已完成*\n*办理结果：* 已核对 &lt;无差异&gt; &amp; 归档');
    expect(blocks[2].elements).toEqual([{ type: 'mrkdwn', text: '无需进一步处理。' }]);
  });

  it('reports an update Slack refuses (message_not_found) as not retryable', async () => {
    vendor.on('POST', '/chat.update', { json: { ok: false, error: 'message_not_found' } });

    const result = await channel().update!(target, { channel: 'D024BE91L', ts: '1.2' }, completed);

    expect(result).toMatchObject({ ok: false, retryable: false, error: 'slack answered message_not_found' });
  });
});
