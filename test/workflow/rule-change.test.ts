/**
 * A reviewed change of a running matter's reminder rule (the modify Update) re-plans it at once: the new rule's
 * calendar is loaded, its reminders go on from its own slots as `replanProgress` says, and the ladder's
 * progress is carried over as `rebaseProgress` says. On the time-skipping test
 * server with fake activities (test/support/matter-run.ts).
 */
import { describe, expect, it } from 'vitest';
import type { RecordEventInput } from '../../src/activities/contracts.js';
import { addWorkingTime } from '../../src/domain/calendar.js';
import type { ReminderRule } from '../../src/domain/reminder-rule.js';
import { modifyUpdate, stateQuery } from '../../src/workflows/messages.js';
import { MatterEscalationLevel } from '../../src/workflows/search-attributes.js';
import { SHANGHAI_OFFICE } from '../support/calendars.js';
import { type MatterRun, useMatterServer } from '../support/matter-run.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Timers fire at the workflow task's time, a few ms after the planned instant. */
const SKEW = 5_000;

const { withMatter } = useMatterServer();

const changeRule = (run: MatterRun, reminderRule: ReminderRule) =>
  run.handle.executeUpdate(modifyUpdate, {
    args: [
      {
        actorId: 'mgr-1',
        reason: 'desk review cadence',
        review: { changeRequestId: 'cr-1', approvedBy: 'mgr-2' },
        reminderRule,
      },
    ],
  });

/** What went out after `fromMs`, as `kind@offset` from the matter's creation (escalations with their level). */
function timeline(run: MatterRun, fromMs: number): string[] {
  const notices = run.events.filter(
    (e) =>
      (e.type === 'matter.reminder' || e.type === 'matter.escalated') && Date.parse(e.occurredAt) > fromMs,
  );
  return notices.map((e) => `${label(e)}@${offsetOf(run, e)}`);
}

const label = (e: RecordEventInput) =>
  e.type === 'matter.reminder' ? `reminder#${e.data.index}` : `escalation L${e.data.level ?? 0}`;

/** Hours after creation, rounded to the planned instant: a timer fires a little after it, never before. */
function offsetOf(run: MatterRun, e: RecordEventInput): string {
  const ms = Date.parse(e.occurredAt) - run.createdAtMs;
  const minutes = Math.floor(ms / MINUTE);
  expect(ms - minutes * MINUTE, `${e.type} #${e.seq} late by`).toBeLessThanOrEqual(SKEW);
  return `${minutes / 60}h`;
}

const level = async (run: MatterRun) =>
  (await run.handle.describe()).typedSearchAttributes.get(MatterEscalationLevel);

describe('changing the reminder rule of a running matter', { timeout: 120_000 }, () => {
  it('the new cadence and ladder take over as if they had applied since the assignment: the new rule’s first slot after the change is next, a rung that now starts later goes out again', async () => {
    const rule = { every: 'P1D', maxCount: 5, escalateAfter: 'PT12H' };
    await withMatter({ rule }, async (run) => {
      await run.sleep(30 * HOUR);
      expect(timeline(run, 0)).toEqual(['escalation L0@12h', 'reminder#0@24h']);
      expect(await level(run)).toBe(1);

      const changed = await changeRule(run, {
        firstAfter: 'P2D',
        every: 'PT12H',
        maxCount: 4,
        ladder: [
          { after: 'P2D', to: 'supervisor', every: 'PT12H', maxCount: 2 },
          { after: 'P3D', to: { handler: 'bob' } },
        ],
      });
      // The new rule has no slot before 48h, so its first is next, whatever went out under the old one; the
      // rung now starting at 48h is not yet reached.
      expect(changed.state).toMatchObject({ remindersSent: 0, escalated: false });
      expect(changed.state.nextNoticeAt).toBe(new Date(run.createdAtMs + 48 * HOUR).toISOString());
      expect(await level(run), 'the level follows the re-planned ladder').toBe(0);

      await run.sleep(10 * DAY);
      expect(timeline(run, run.createdAtMs + 30 * HOUR)).toEqual([
        // On a tie the escalation goes first.
        'escalation L0@48h',
        'reminder#0@48h',
        'escalation L0@60h',
        'reminder#1@60h',
        'escalation L1@72h',
        'reminder#2@72h',
        'reminder#3@84h',
      ]);
      const recipients = run.events
        .filter(
          (e) => e.type === 'matter.escalated' && Date.parse(e.occurredAt) > run.createdAtMs + 30 * HOUR,
        )
        .map((e) => run.notices.find((n) => n.seq === e.seq)?.recipient);
      expect(recipients).toEqual([
        { kind: 'supervisorOf', handlerId: 'alice' },
        { kind: 'supervisorOf', handlerId: 'alice' },
        { kind: 'handler', handlerId: 'bob' },
      ]);
      expect(await run.handle.query(stateQuery)).toMatchObject({ remindersSent: 4, nextNoticeAt: null });
      expect(await level(run)).toBe(2);
    });
  });

  it('going from hourly to daily after ten reminders, the next comes a day after the assignment, not ten days after', async () => {
    await withMatter({ rule: { every: 'PT1H' } }, async (run) => {
      await run.sleep(10.5 * HOUR);
      expect(timeline(run, 0)).toHaveLength(10);

      await changeRule(run, { every: 'P1D', maxCount: 3 });
      await run.sleep(4 * DAY);
      expect(timeline(run, run.createdAtMs + 10.5 * HOUR)).toEqual([
        'reminder#0@24h',
        'reminder#1@48h',
        'reminder#2@72h',
      ]);
    });
  });

  it('a rung already under way keeps what it sent and goes on to its new maxCount before the next rung', async () => {
    const rule = {
      every: 'P7D',
      maxCount: 1,
      ladder: [{ after: 'PT6H', to: 'supervisor' as const, every: 'PT6H', maxCount: 3 }],
    };
    await withMatter({ rule }, async (run) => {
      await run.sleep(20 * HOUR);
      expect(timeline(run, 0)).toEqual(['escalation L0@6h', 'escalation L0@12h', 'escalation L0@18h']);

      const changed = await changeRule(run, {
        every: 'P7D',
        maxCount: 1,
        ladder: [
          { after: 'PT6H', to: 'supervisor', every: 'PT6H', maxCount: 4 },
          { after: 'P2D', to: { handler: 'bob' } },
        ],
      });
      expect(changed.state).toMatchObject({ escalated: true, progress: { ladderSent: [3, 0] } });

      await run.sleep(8 * DAY);
      expect(timeline(run, run.createdAtMs + 20 * HOUR)).toEqual([
        'escalation L0@24h',
        'escalation L1@48h',
        'reminder#0@168h',
      ]);
    });
  });

  it('the new rule’s business calendar is loaded for the handler and its working hours apply from the change', async () => {
    const calendars = { 'cn-sh': SHANGHAI_OFFICE };
    await withMatter({ rule: { every: 'P1D', maxCount: 3 }, calendars }, async (run) => {
      await run.sleep(1 * MINUTE);
      const working = { clock: 'working' as const, calendar: 'cn-sh', every: 'PT4H', maxCount: 3 };
      await changeRule(run, working);
      expect(run.planningQueries).toEqual([
        { handlerId: 'alice', calendar: null },
        { handlerId: 'alice', calendar: 'cn-sh' },
      ]);

      await run.sleep(10 * DAY);
      // Four working hours apart from the assignment, lunch and nights and weekends passed over.
      const first = addWorkingTime(SHANGHAI_OFFICE, run.createdAtMs, 4 * HOUR);
      const second = addWorkingTime(SHANGHAI_OFFICE, first, 4 * HOUR);
      const third = addWorkingTime(SHANGHAI_OFFICE, second, 4 * HOUR);
      const reminders = run.events.filter((e) => e.type === 'matter.reminder');
      expect(reminders.map((e) => e.data.index)).toEqual([0, 1, 2]);
      reminders.forEach((e, i) => {
        const late = Date.parse(e.occurredAt) - [first, second, third][i]!;
        expect(late, `reminder #${i} late by`).toBeGreaterThanOrEqual(0);
        expect(late, `reminder #${i} late by`).toBeLessThanOrEqual(SKEW);
      });
    });
  });
});
