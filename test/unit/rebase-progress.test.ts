import { describe, expect, it } from 'vitest';
import { ROUND_THE_CLOCK } from '../../src/domain/calendar.js';
import {
  type EngineInput,
  NOTHING_SENT,
  type Progress,
  planNotice,
  rebaseProgress,
} from '../../src/domain/planner.js';
import type { ReminderRule } from '../../src/domain/reminder-rule.js';
import { parseSchedule } from '../../src/domain/schedule.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T00:00:00.000Z');

/** The workflow's input to the planner right after `rule` replaced the old one at `now`. */
function changedTo(
  rule: ReminderRule,
  progress: Partial<Progress>,
  now: number,
  dueAt: number | null = null,
) {
  return {
    ...NOTHING_SENT,
    ...progress,
    schedule: parseSchedule(rule),
    context: { calendar: ROUND_THE_CLOCK, quiet: null },
    assignedAt: T0,
    dueAt,
    now,
  } satisfies EngineInput;
}

describe('rebaseProgress (after the due time or the rule changed)', () => {
  it('keeps the count of reminders sent and drops the last slot, which belonged to the old rule', () => {
    // One went out at 8h under an eight-hourly rule; twelve-hourly from 20h on.
    const input = changedTo(
      { every: 'PT12H', maxCount: 4 },
      { remindersSent: 1, lastReminderSlot: T0 + 8 * HOUR },
      T0 + 20 * HOUR,
    );
    const rebased = rebaseProgress(input);
    expect(rebased).toMatchObject({ remindersSent: 1, lastReminderSlot: null });
    // The new rule's slots count from the assignment; the one sent took slot 0 of them.
    expect(planNotice({ ...input, ...rebased })).toMatchObject({
      kind: 'reminder',
      index: 1,
      at: T0 + 24 * HOUR,
    });
  });

  it('counts before-due offsets already behind as sent and arms those ahead, whatever went out under the old rule', () => {
    const rule = { every: 'P30D', maxCount: 1, beforeDue: ['P2D', 'P1D', 'PT6H'] };
    const dueAt = T0 + 3 * DAY;
    const input = changedTo(rule, { beforeDueSent: 0, lastBeforeDueSlot: null }, T0 + 30 * HOUR, dueAt);
    const rebased = rebaseProgress(input);
    expect(rebased).toMatchObject({ beforeDueSent: 1, lastBeforeDueSlot: null });
    expect(planNotice({ ...input, ...rebased })).toMatchObject({
      kind: 'beforeDue',
      index: 1,
      at: dueAt - DAY,
    });

    const movedAhead = changedTo(
      rule,
      { beforeDueSent: 2, lastBeforeDueSlot: T0 + 2 * DAY },
      T0 + 30 * HOUR,
      T0 + 10 * DAY,
    );
    expect(rebaseProgress(movedAhead)).toMatchObject({ beforeDueSent: 0, lastBeforeDueSlot: null });
  });

  it('keeps what a rung already under way sent and resets a rung that now starts later', () => {
    const rule: ReminderRule = {
      every: 'P7D',
      ladder: [
        { after: 'PT6H', to: 'supervisor', every: 'PT6H', maxCount: 4 },
        { after: 'P2D', to: { handler: 'bob' } },
      ],
    };
    const sent = { ladderSent: [3, 1], lastLadderSlot: [T0 + 18 * HOUR, T0 + 19 * HOUR] };
    const rebased = rebaseProgress(changedTo(rule, sent, T0 + 20 * HOUR));
    expect(rebased).toMatchObject({ ladderSent: [3, 0], lastLadderSlot: [T0 + 18 * HOUR, null] });
  });

  it('takes the ladder as long as the new rule makes it, dropping rungs the rule no longer has', () => {
    const sent = { ladderSent: [1, 1, 1], lastLadderSlot: [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR] };
    const rebased = rebaseProgress(changedTo({ every: 'P1D', escalateAfter: 'PT1H' }, sent, T0 + 4 * HOUR));
    expect(rebased).toMatchObject({ ladderSent: [1], lastLadderSlot: [T0 + HOUR] });
    expect(rebaseProgress(changedTo({ every: 'P1D' }, sent, T0 + 4 * HOUR))).toMatchObject({
      ladderSent: [],
      lastLadderSlot: [],
    });
  });

  it('keeps the acknowledgement: the ladder climbs no further under the new rule either', () => {
    const rule: ReminderRule = { every: 'P7D', ladder: [{ after: 'PT6H', to: 'supervisor' }] };
    const input = changedTo(rule, { acknowledgedAt: T0 + HOUR }, T0 + 2 * HOUR);
    const rebased = rebaseProgress(input);
    expect(rebased.acknowledgedAt).toBe(T0 + HOUR);
    expect(planNotice({ ...input, ...rebased })).toMatchObject({ kind: 'reminder', at: T0 + 7 * DAY });
  });

  it('changes nothing more when applied twice at the same time', () => {
    const rule = { every: 'PT4H', beforeDue: ['P1D'], ladder: [{ after: 'PT1H', to: 'handler' as const }] };
    const input = changedTo(
      rule,
      { remindersSent: 2, ladderSent: [1], lastLadderSlot: [T0] },
      T0 + 5 * HOUR,
      T0 + DAY,
    );
    const once = rebaseProgress(input);
    expect(rebaseProgress({ ...input, ...once })).toEqual(once);
  });
});
