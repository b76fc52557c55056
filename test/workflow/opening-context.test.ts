/**
 * A matter the API starts now comes with its planning context (the rule's calendar and the handler's quiet
 * hours), read as the API started it: the run plans with that and looks nothing up, which spares a new
 * matter one activity and one workflow task. Runs started without it (resends, later starts, runs begun
 * before) look it up as before. On the time-skipping test server with fake activities.
 */
import { describe, expect, it } from 'vitest';
import { addWorkingTime } from '../../src/domain/calendar.js';
import { SHANGHAI_OFFICE } from '../support/calendars.js';
import { type MatterRun, useMatterServer } from '../support/matter-run.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Timers fire at the workflow task's time, a few ms after the planned instant. */
const SKEW = 5_000;

const { withMatter } = useMatterServer();

const RULE = { clock: 'working' as const, calendar: 'cn-sh', every: 'PT4H', maxCount: 3 };

/** Each reminder four working hours after the one before, on the Shanghai office's calendar. */
function expectWorkingHourReminders(run: MatterRun): void {
  const reminders = run.events.filter((e) => e.type === 'matter.reminder');
  expect(reminders.map((e) => e.data.index)).toEqual([0, 1, 2]);
  let slot = run.createdAtMs;
  for (const [i, e] of reminders.entries()) {
    slot = addWorkingTime(SHANGHAI_OFFICE, slot, 4 * HOUR);
    const late = Date.parse(e.occurredAt) - slot;
    expect(late, `reminder #${i} late by`).toBeGreaterThanOrEqual(0);
    expect(late, `reminder #${i} late by`).toBeLessThanOrEqual(SKEW);
  }
}

describe('the planning context a matter starts with', { timeout: 120_000 }, () => {
  it('plans on the calendar it was started with and asks for no context of its own', async () => {
    const opening = { calendar: SHANGHAI_OFFICE, quiet: null };
    await withMatter({ rule: RULE, opening }, async (run) => {
      await run.sleep(7 * DAY);
      expect(run.planningQueries).toEqual([]);
      expect(run.events[0]?.type).toBe('matter.assigned');
      expectWorkingHourReminders(run);
    });
  });

  it('without one, looks up the rule’s calendar and the handler’s quiet hours first, and plans the same', async () => {
    await withMatter({ rule: RULE, calendars: { 'cn-sh': SHANGHAI_OFFICE } }, async (run) => {
      await run.sleep(7 * DAY);
      expect(run.planningQueries).toEqual([{ handlerId: 'alice', calendar: 'cn-sh' }]);
      expectWorkingHourReminders(run);
    });
  });
});
