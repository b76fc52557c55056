import { Cron } from 'croner';
import { Duration } from 'luxon';
import { isTimeOfDay } from './calendar.js';

/** A length of time as a rule states it: whole days count as days (calendar or working), the rest as time. */
export interface Span {
  days: number;
  ms: number;
}

export type Clock = 'calendar' | 'working';

/** Who a rung of the escalation ladder notifies. */
export type LadderTarget = 'handler' | 'supervisor' | { group: string } | { handler: string };

export interface LadderLevel {
  /** From the due time (or the assignment, when later or when there is no due time). */
  after: Span;
  to: LadderTarget;
  /** Repeats within the level; one notice when absent. */
  every: Span | null;
  maxCount: number;
  /** Channel types to use, in order; the recipient's own order when absent. */
  channels: string[] | null;
}

export type Repeat = { every: Span } | { timesOfDay: string[] } | { cron: string };

/** A reminder rule, validated and in the planner's terms. */
export interface Schedule {
  clock: Clock;
  firstAfter: Span | null;
  firstAt: string | null;
  repeat: Repeat;
  maxCount: number | null;
  /** Offsets before the due time, earliest notice first. */
  beforeDue: Span[];
  ladder: LadderLevel[];
  /** Urgent notices may go out in quiet hours. */
  urgent: boolean;
  /** A business calendar from the catalog; the round-the-clock calendar when absent. */
  calendar: string | null;
}

export const MIN_INTERVAL_MS = 1000;

export class RuleError extends Error {
  readonly code = 'INVALID_REMINDER_RULE';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Fixed-length parts only: months and years have no fixed length, nor weeks on the working clock. */
function parseSpan(text: unknown, field: string, clock: Clock = 'calendar'): Span {
  const d = typeof text === 'string' ? Duration.fromISO(text) : Duration.invalid('not text');
  if (!d.isValid)
    throw new RuleError(
      `reminderRule.${field}: "${String(text)}" is not an ISO 8601 duration such as PT30M or P1D`,
      field,
    );
  const o = d.toObject();
  if (o.years || o.quarters || o.months) {
    throw new RuleError(
      `reminderRule.${field}: "${String(text)}" uses months or years, which have no fixed length; use weeks or days`,
      field,
    );
  }
  if (clock === 'working' && o.weeks) {
    throw new RuleError(
      `reminderRule.${field}: "${text}" counts weeks, which have no agreed number of working days; count days (P5D)`,
      field,
    );
  }
  if (Object.values(o).some((part) => part < 0)) {
    throw new RuleError(`reminderRule.${field}: a duration cannot be negative`, field);
  }
  const span = {
    days: (o.weeks ?? 0) * 7 + (o.days ?? 0),
    ms: Duration.fromObject({
      hours: o.hours,
      minutes: o.minutes,
      seconds: o.seconds,
      milliseconds: o.milliseconds,
    }).toMillis(),
  };
  if (span.days === 0 && span.ms < MIN_INTERVAL_MS) {
    throw new RuleError(`reminderRule.${field} must be at least 1 second`, field);
  }
  if (!Number.isInteger(span.days) || !Number.isFinite(span.ms)) {
    throw new RuleError(`reminderRule.${field}: use whole days`, field);
  }
  return span;
}

/** Elapsed length of a span on a round-the-clock calendar. */
export const spanMs = (s: Span): number => s.days * 86_400_000 + s.ms;

function count(value: unknown, field: string, max: number): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RuleError(`reminderRule.${field} must be an integer from 0 to ${max}`, field);
  }
  return value;
}

function timeOfDay(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isTimeOfDay(value))
    throw new RuleError(`reminderRule.${field} must be HH:mm`, field);
  return value;
}

function cron(value: unknown): string {
  // "?" would stand for the current time, which a workflow must not read.
  if (typeof value !== 'string' || value.trim().split(/\s+/).length !== 5 || value.includes('?')) {
    throw new RuleError('reminderRule.cron must have five fields: minute hour day month weekday', 'cron');
  }
  try {
    new Cron(value, { timezone: 'UTC' });
  } catch (err) {
    throw new RuleError(`reminderRule.cron: ${(err as Error).message}`, 'cron');
  }
  return value;
}

function target(value: unknown, field: string): LadderTarget {
  if (value === 'handler' || value === 'supervisor') return value;
  const keys = value !== null && typeof value === 'object' ? Object.keys(value) : [];
  const [key] = keys;
  const id = keys.length === 1 ? (value as Record<string, unknown>)[key!] : undefined;
  if ((key === 'group' || key === 'handler') && typeof id === 'string' && id.length > 0) {
    return key === 'group' ? { group: id } : { handler: id };
  }
  throw new RuleError(
    `reminderRule.${field} must be "handler", "supervisor", { "group": id } or { "handler": id }`,
    field,
  );
}

function channelList(value: unknown, field: string): string[] | null {
  if (value === undefined) return null;
  if (!Array.isArray(value) || !value.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new RuleError(`reminderRule.${field} must be a list of channel types`, field);
  }
  return [...value];
}

function ladder(rule: ReminderRule, clock: Clock): LadderLevel[] {
  if (rule.ladder !== undefined && rule.escalateAfter !== undefined) {
    throw new RuleError('give either escalateAfter or ladder, not both', 'ladder');
  }
  if (rule.escalateAfter !== undefined) {
    return [
      {
        after: parseSpan(rule.escalateAfter, 'escalateAfter', clock),
        to: 'supervisor',
        every: null,
        maxCount: 1,
        channels: null,
      },
    ];
  }
  if (rule.ladder === undefined) return [];
  if (!Array.isArray(rule.ladder) || rule.ladder.length > 10) {
    throw new RuleError('reminderRule.ladder must be a list of at most 10 levels', 'ladder');
  }
  const levels = rule.ladder.map((l, i) => {
    const f = (name: string) => `ladder[${i}].${name}`;
    if (l === null || typeof l !== 'object')
      throw new RuleError(`reminderRule.ladder[${i}] must be an object`, `ladder[${i}]`);
    return {
      after: parseSpan(l.after, f('after'), clock),
      to: target(l.to, f('to')),
      every: l.every === undefined ? null : parseSpan(l.every, f('every'), clock),
      maxCount: count(l.maxCount, f('maxCount'), 10_000) ?? 1,
      channels: channelList(l.channels, f('channels')),
    };
  });
  for (let i = 1; i < levels.length; i++) {
    if (spanMs(levels[i]!.after) <= spanMs(levels[i - 1]!.after)) {
      throw new RuleError('each ladder level must start after the one before it', `ladder[${i}].after`);
    }
  }
  return levels;
}

function repeat(rule: ReminderRule, clock: Clock): Repeat {
  const given = [rule.every, rule.timesOfDay, rule.cron].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw new RuleError(
      'reminderRule.every is required, or instead timesOfDay or cron: exactly one of them',
      'every',
    );
  if (rule.every !== undefined) return { every: parseSpan(rule.every, 'every', clock) };
  if (rule.timesOfDay !== undefined) {
    if (!Array.isArray(rule.timesOfDay) || rule.timesOfDay.length === 0 || rule.timesOfDay.length > 24) {
      throw new RuleError('reminderRule.timesOfDay must list 1 to 24 times', 'timesOfDay');
    }
    const times = rule.timesOfDay.map((t, i) => timeOfDay(t, `timesOfDay[${i}]`));
    return { timesOfDay: [...new Set(times)].sort() };
  }
  return { cron: cron(rule.cron) };
}

/** Validates a rule and puts it in the planner's terms; the errors name the field. */
export function parseSchedule(rule: ReminderRule): Schedule {
  if (rule === null || typeof rule !== 'object')
    throw new RuleError('reminderRule must be an object', 'reminderRule');
  if (rule.clock !== undefined && rule.clock !== 'calendar' && rule.clock !== 'working') {
    throw new RuleError('reminderRule.clock must be "calendar" or "working"', 'clock');
  }
  const clock = rule.clock ?? 'calendar';
  if (rule.beforeDue !== undefined && (!Array.isArray(rule.beforeDue) || rule.beforeDue.length > 20)) {
    throw new RuleError('reminderRule.beforeDue must list at most 20 durations', 'beforeDue');
  }
  const beforeDue = (rule.beforeDue ?? []).map((d, i) => parseSpan(d, `beforeDue[${i}]`));
  beforeDue.sort((a, b) => spanMs(b) - spanMs(a));
  if (rule.urgent !== undefined && typeof rule.urgent !== 'boolean') {
    throw new RuleError('reminderRule.urgent must be true or false', 'urgent');
  }
  if (rule.firstAfter !== undefined && rule.firstAt !== undefined) {
    throw new RuleError('give either firstAfter or firstAt, not both', 'firstAt');
  }
  if (rule.calendar !== undefined && (typeof rule.calendar !== 'string' || rule.calendar.length === 0)) {
    throw new RuleError('reminderRule.calendar must be the code of a business calendar', 'calendar');
  }
  return {
    clock,
    firstAfter: rule.firstAfter === undefined ? null : parseSpan(rule.firstAfter, 'firstAfter', clock),
    firstAt: rule.firstAt === undefined ? null : timeOfDay(rule.firstAt, 'firstAt'),
    repeat: repeat(rule, clock),
    maxCount: count(rule.maxCount, 'maxCount', 100_000),
    beforeDue,
    ladder: ladder(rule, clock),
    urgent: rule.urgent ?? false,
    calendar: rule.calendar ?? null,
  };
}

/** The rule as the API and the catalog take it. */
export interface ReminderRule {
  /** How durations count: elapsed time, or working time on the business calendar. */
  clock?: Clock;
  /** A business calendar's code; round the clock in UTC when absent. */
  calendar?: string;
  /** Delay from assignment to the first reminder; defaults to one repeat. */
  firstAfter?: string;
  /** The first reminder at this local time (HH:mm) after assignment. */
  firstAt?: string;
  every?: string;
  timesOfDay?: string[];
  cron?: string;
  /** Reminders per handler assignment; unlimited when absent. */
  maxCount?: number;
  beforeDue?: string[];
  /** One escalation to the supervisor, measured from the due time or the assignment, whichever is later. */
  escalateAfter?: string;
  ladder?: {
    after: string;
    to: LadderTarget;
    every?: string;
    maxCount?: number;
    channels?: string[];
  }[];
  urgent?: boolean;
}
