import type { ParsedRule } from './reminder-rule.js';

/** What the planner needs to know about one handler's assignment of a matter; times in epoch ms. */
export interface PlanInput {
  rule: ParsedRule;
  assignedAt: number;
  dueAt: number | null;
  remindersSent: number;
  escalated: boolean;
  now: number;
}

export type PlannedNotice =
  | { kind: 'reminder'; at: number; index: number; skipped: number }
  | { kind: 'escalation'; at: number };

function reminderSlot(rule: ParsedRule, assignedAt: number, index: number): number {
  return assignedAt + rule.firstAfterMs + index * rule.everyMs;
}

function nextReminder(input: PlanInput): PlannedNotice | null {
  const { rule, assignedAt, remindersSent, now } = input;
  const last = rule.maxCount === null ? Number.POSITIVE_INFINITY : rule.maxCount - 1;
  if (remindersSent > last) return null;
  let index = remindersSent;
  // After downtime, missed slots collapse into one reminder instead of a burst.
  if (reminderSlot(rule, assignedAt, index) <= now) {
    const latestDue = Math.floor((now - assignedAt - rule.firstAfterMs) / rule.everyMs);
    index = Math.min(Math.max(latestDue, remindersSent), last);
  }
  return {
    kind: 'reminder',
    at: reminderSlot(rule, assignedAt, index),
    index,
    skipped: index - remindersSent,
  };
}

function nextEscalation(input: PlanInput): PlannedNotice | null {
  if (input.escalated || input.rule.escalateAfterMs === null) return null;
  // A matter handed over when already overdue gives its new handler the full grace period.
  const from = input.dueAt === null ? input.assignedAt : Math.max(input.dueAt, input.assignedAt);
  return { kind: 'escalation', at: from + input.rule.escalateAfterMs };
}

/** The next notice for the current assignment, or null when the rule has nothing more to send. */
export function planNext(input: PlanInput): PlannedNotice | null {
  const reminder = nextReminder(input);
  const escalation = nextEscalation(input);
  if (!reminder) return escalation;
  if (!escalation) return reminder;
  return escalation.at <= reminder.at ? escalation : reminder;
}
