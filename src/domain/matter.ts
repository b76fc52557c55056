import type { ScheduledChange } from './actions.js';
import type { ReminderRule } from './reminder-rule.js';

/** `returned`: an exception filing sent the matter back to its source. */
export const MATTER_STATUSES = ['open', 'completed', 'cancelled', 'returned'] as const;
export type MatterStatus = (typeof MATTER_STATUSES)[number];

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** What starts a matter's workflow; times are RFC 3339 strings. */
export interface MatterInput {
  id: string;
  source: string;
  externalId: string;
  title: string;
  details: string | null;
  link: string | null;
  dueAt: string | null;
  priority: Priority;
  reminderRule: ReminderRule;
  /** The catalog template and version the rule was taken from, when it was. */
  reminderRuleRef?: { code: string; version: number } | null;
  /** Null while a group's matter waits to be claimed. */
  handlerId: string | null;
  /** The group the matter is offered to, if it was; absent in runs started before groups existed. */
  groupId?: string | null;
  /** Who pushed the matter: a source system or a manager. */
  createdBy: string;
  createdAt: string;
}

/** The workflow's whole state; the `state` query returns it and every recorded event carries it. */
export interface MatterState extends MatterInput {
  status: MatterStatus;
  /** When the current handler got the matter; reminders count from here. */
  assignedAt: string;
  remindersSent: number;
  escalated: boolean;
  /** Sequence of the last event; events are numbered from 1 per matter. */
  seq: number;
  transferCount: number;
  exceptionCount: number;
  nextNoticeAt: string | null;
  completedAt: string | null;
  completedBy: string | null;
  outcome: string | null;
  /** Approved changes waiting for their effective time, earliest first. */
  scheduledChanges: ScheduledChange[];
  /** The reminder engine's bookkeeping for this assignment; absent in runs from before it. */
  progress?: ReminderProgress;
  /** When the handler acknowledged the matter; the escalation ladder climbs no further. */
  acknowledgedAt?: string | null;
  /** Exception filings by the seq of their `exception.filed`; absent in runs from before they were tracked. */
  filings?: FilingState[];
  /**
   * How long the reminder clock of the assignment made at `assignedAt` stood still for filings that pause
   * reminders, and since when it stands still now (null while it runs).
   */
  pause?: { assignedAt: string; ms: number; since: string | null } | null;
  /** The transfer that gave the current handler the matter, while they may still reject it back. */
  lastTransfer?: { from: string; to: string; at: string } | null;
}

export interface FilingState {
  seq: number;
  status: 'open' | 'acknowledged' | 'closed';
  pausesReminders: boolean;
}

/** Slots are the rule's own times in epoch ms, before quiet hours moved them. */
export interface ReminderProgress {
  lastReminderSlot: number | null;
  beforeDueSent: number;
  lastBeforeDueSlot: number | null;
  ladderSent: number[];
  lastLadderSlot: (number | null)[];
}

export const EVENT_TYPES = [
  'matter.assigned',
  'matter.reminder',
  'matter.escalated',
  'matter.transferred',
  'matter.completed',
  'exception.filed',
  'matter.modified',
  'matter.cancelled',
  'change.scheduled',
  'change.failed',
  'matter.claimed',
  'matter.released',
  'matter.acknowledged',
  'exception.acknowledged',
  'exception.closed',
  'matter.returned',
  'transfer.rejected',
  'matter.transfer-alert',
] as const;
export type MatterEventType = (typeof EVENT_TYPES)[number];

export function workflowIdFor(source: string, externalId: string): string {
  return `matter:${source}:${externalId}`;
}
