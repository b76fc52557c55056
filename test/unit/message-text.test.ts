import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../src/channels/channel.js';
import {
  factsLine,
  headline,
  localeOf,
  noticeLabel,
  outcomeFacts,
  outcomeText,
  targetLocale,
} from '../../src/channels/message-text.js';
import { EVENT_TYPES } from '../../src/domain/matter.js';
import { completedNotice, purchaseOrderReminder } from '../support/outbound-message.js';

const TYPES: OutboundMessage['type'][] = [
  ...EVENT_TYPES,
  'change.approved',
  'change.rejected',
  'change.failed',
  'reminder.digest',
];

describe('message text by locale', () => {
  it('reads a target’s locale as the web reads a handler’s, anything unknown or missing as English', () => {
    const at = (locale?: unknown) => targetLocale({ type: 'slack', address: 'U1', settings: { locale } });
    expect([at('zh-CN'), at('zh'), at('en-GB'), at('fr'), at(), at(7)]).toEqual([
      'zh-CN',
      'zh-CN',
      'en',
      'en',
      'en',
      'en',
    ]);
    expect(localeOf('ZH-cn')).toBe('zh-CN');
  });

  it('names every event in Chinese and in English, never the same words in both', () => {
    for (const type of TYPES) {
      for (const say of [headline, noticeLabel]) {
        const [zh, en] = [say(type, 'zh-CN'), say(type, 'en')];
        expect(zh, `${say.name} ${type}`).toMatch(/[\u4e00-\u9fff]/);
        expect(en, `${say.name} ${type}`).toMatch(/^[A-Z][a-z -]+$/);
      }
    }
    expect(headline('matter.transfer-alert')).toBe('Matter transferred too often');
  });

  it('writes English without a locale, as callers that pass none always had', () => {
    expect(factsLine(purchaseOrderReminder)).toBe(
      'Reminder · Due 2025-07-04 10:00 UTC · Priority high · Handler 李四',
    );
    expect(factsLine(purchaseOrderReminder, 'zh-CN')).toBe(
      '提醒 · 截止时间 2025-07-04 10:00 UTC · 优先级 高 · 处理人 李四',
    );
  });

  it('writes a converged card’s outcome line and facts in the reader’s language', () => {
    const done = completedNotice(purchaseOrderReminder, { data: { outcome: 'ok', comment: '已核对' } });
    const as = (type: OutboundMessage['type']) => ({ ...done, type });
    expect(
      (['matter.completed', 'matter.transferred', 'transfer.rejected', 'matter.claimed'] as const).map(
        (t) => [outcomeText(as(t), 'zh-CN'), outcomeText(as(t), 'en')],
      ),
    ).toEqual([
      ['李四 已完成', 'Completed by 李四'],
      ['已转办给 李四', 'Transferred to 李四'],
      ['已退回给 李四', 'Handed back to 李四'],
      ['李四 已认领', 'Claimed by 李四'],
    ]);
    expect(outcomeText(as('matter.cancelled'), 'zh-CN')).toBe('已撤销');
    expect(outcomeFacts(done, 'zh-CN')).toEqual([
      ['办理结果', 'ok'],
      ['备注', '已核对'],
    ]);
    expect(outcomeFacts(done)).toEqual([
      ['Outcome', 'ok'],
      ['Comment', '已核对'],
    ]);
  });
});
