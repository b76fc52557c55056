import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUND_THE_CLOCK } from '../../src/domain/calendar.js';
import {
  type EngineInput,
  NOTHING_SENT,
  type Progress,
  planNotice,
  rebaseProgress,
  replanProgress,
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

const next = (input: EngineInput) => planNotice({ ...input, ...replanProgress(input) });

describe('replanProgress (after the rule itself changed)', () => {
  it('goes from hourly to daily after ten reminders with the next one a day after the assignment, not ten days', () => {
    const input = changedTo(
      { every: 'P1D' },
      { remindersSent: 10, lastReminderSlot: T0 + 10 * HOUR },
      T0 + 10.5 * HOUR,
    );
    expect(replanProgress(input)).toMatchObject({ remindersSent: 0, lastReminderSlot: null });
    expect(next(input)).toMatchObject({ kind: 'reminder', index: 0, at: T0 + DAY });
  });

  it('goes from daily to hourly with the next one on the coming hour, not a catch-up at once', () => {
    const input = changedTo(
      { every: 'PT1H' },
      { remindersSent: 2, lastReminderSlot: T0 + 2 * DAY },
      T0 + 50.5 * HOUR,
    );
    expect(replanProgress(input)).toMatchObject({ remindersSent: 50, lastReminderSlot: T0 + 50 * HOUR });
    expect(next(input)).toMatchObject({ kind: 'reminder', index: 50, at: T0 + 51 * HOUR });
  });

  it('takes the new rule’s slots up to now as its count, so a maxCount already passed sends nothing more', () => {
    const input = changedTo({ every: 'PT4H', maxCount: 3 }, { remindersSent: 1 }, T0 + 20 * HOUR);
    expect(replanProgress(input)).toMatchObject({ remindersSent: 3, lastReminderSlot: T0 + 12 * HOUR });
    expect(next(input)).toBeNull();
  });

  it('walks a rule of times of day the same way: the next is the first time of day after now', () => {
    // In the calendar's zone, UTC here; changed at 05:00 on the third day.
    const input = changedTo({ timesOfDay: ['01:00', '07:00'] }, {}, T0 + 2 * DAY + 5 * HOUR);
    const replanned = replanProgress(input);
    expect(replanned.lastReminderSlot).toBe(T0 + 2 * DAY + 1 * HOUR);
    expect(next(input)).toMatchObject({ kind: 'reminder', at: T0 + 2 * DAY + 7 * HOUR });
  });

  it('never plans the next reminder at or before the change, nor later than the new rule’s first slot after it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 72 }),
        fc.integer({ min: 0, max: 30 * 24 }),
        fc.integer({ min: 0, max: 500 }),
        (everyHours, nowHours, sentBefore) => {
          const now = T0 + nowHours * HOUR + 1;
          const input = changedTo({ every: `PT${everyHours}H` }, { remindersSent: sentBefore }, now);
          const planned = next(input);
          const firstAfter = T0 + (Math.floor((now - T0) / (everyHours * HOUR)) + 1) * everyHours * HOUR;
          expect(planned).toMatchObject({ kind: 'reminder', at: firstAfter });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
