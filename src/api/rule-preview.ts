import { calendarInUse } from '../db/business-calendars.js';
import type { ChangeRequestRow } from '../db/change-requests.js';
import type { Sql } from '../db/client.js';
import { getHandler, quietHoursOf } from '../db/handlers.js';
import { getMatter } from '../db/matters.js';
import { findTemplate } from '../db/rule-templates.js';
import { type QuietHours, ROUND_THE_CLOCK } from '../domain/calendar.js';
import { type Planned, previewSchedule } from '../domain/planner.js';
import { parseSchedule, type ReminderRule, type Schedule } from '../domain/schedule.js';
import { unprocessable } from './errors.js';

export interface PreviewRequest {
  schedule: Schedule;
  assignedAt: Date;
  dueAt: Date | null;
  /** Quiet hours: given, or the handler's own. */
  quiet?: QuietHours | null;
  handlerId?: string | null;
  count: number;
}

const present = (n: Planned) => ({
  at: new Date(n.at).toISOString(),
  slot: new Date(n.slot).toISOString(),
  kind: n.kind,
  index: n.index,
  skipped: n.skipped,
  ...(n.kind === 'escalation' ? { level: n.level, to: n.to, channels: n.channels } : {}),
});

/** What a rule would send for one assignment if nobody acted: the review screen shows this. */
export async function previewRule(sql: Sql, r: PreviewRequest) {
  const code = r.schedule.calendar;
  const calendar = code ? await calendarInUse(sql, code) : ROUND_THE_CLOCK;
  if (!calendar) throw unprocessable('UNKNOWN_CALENDAR', `no business calendar "${code}" in use`);
  let quiet = r.quiet ?? null;
  if (r.quiet === undefined && r.handlerId) {
    const handler = await getHandler(sql, r.handlerId);
    quiet = handler && quietHoursOf(handler);
  }
  const planned = previewSchedule(
    {
      schedule: r.schedule,
      context: { calendar, quiet },
      assignedAt: r.assignedAt.getTime(),
      dueAt: r.dueAt?.getTime() ?? null,
    },
    r.count,
  );
  return { timeZone: calendar.timeZone, quietHours: quiet, items: planned.map(present) };
}

/**
 * The schedule a change request would put in place, for the review screen: a new matter's, or a
 * modified one's when its rule, due time or handler changes. Null when the request changes none.
 */
export async function previewChange(sql: Sql, cr: ChangeRequestRow) {
  if (cr.kind === 'delete') return null;
  const proposed = cr.proposed as Partial<Record<string, unknown>>;
  const current = (cr.current ?? {}) as Partial<Record<string, unknown>>;
  const touches = ['reminderRule', 'reminderRuleRef', 'dueAt', 'handlerId'].some((f) => f in proposed);
  if (cr.kind === 'modify' && !touches) return null;
  const ref = proposed.reminderRuleRef as { code: string; version: number } | undefined;
  const rule = (proposed.reminderRule ??
    (ref ? (await findTemplate(sql, ref.code, ref.version))?.rule : undefined) ??
    current.reminderRule) as ReminderRule | undefined;
  if (!rule) return null;
  const startsAt = cr.effectiveAt ?? new Date();
  const reassigned = cr.kind === 'add' || 'handlerId' in proposed;
  const matter = !reassigned && cr.matterId ? await getMatter(sql, cr.matterId) : null;
  const due = ('dueAt' in proposed ? proposed.dueAt : current.dueAt) as string | null | undefined;
  return previewRule(sql, {
    schedule: parseSchedule(rule),
    assignedAt: matter?.assignedAt ?? startsAt,
    dueAt: due ? new Date(due) : null,
    handlerId: (proposed.handlerId ?? current.handlerId ?? null) as string | null,
    count: 10,
  });
}
