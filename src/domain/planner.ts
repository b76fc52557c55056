import { Cron } from 'croner';
import { DateTime } from 'luxon';
import {
  addWorkingDays,
  addWorkingTime,
  type BusinessCalendar,
  isWorkingDay,
  isWorkingTime,
  nextTimeOfDay,
  nextWorkingStart,
  outOfQuietHours,
  type QuietHours,
} from './calendar.js';
import type { Clock, LadderTarget, Schedule, Span } from './schedule.js';

/** Where the rule's time is counted: the business calendar, and the handler's quiet hours. */
export interface PlanningContext {
  calendar: BusinessCalendar;
  quiet: QuietHours | null;
}

/** What has gone out for the current assignment; slots are the rule's own times, before quiet hours moved them. */
export interface Progress {
  remindersSent: number;
  lastReminderSlot: number | null;
  beforeDueSent: number;
  lastBeforeDueSlot: number | null;
  /** Notices sent per ladder level. */
  ladderSent: number[];
  lastLadderSlot: (number | null)[];
  /** The handler's acknowledgement stops the ladder from climbing further. */
  acknowledgedAt: number | null;
}

export interface EngineInput extends Progress {
  schedule: Schedule;
  context: PlanningContext;
  assignedAt: number;
  dueAt: number | null;
  now: number;
}

interface Placed {
  /** When it goes out: the slot, moved out of quiet hours unless the rule is urgent. */
  at: number;
  slot: number;
  index: number;
  /** Slots folded into this one: missed while nothing ran, or landing in the same quiet spell. */
  skipped: number;
}

export type Planned =
  | ({ kind: 'reminder' } & Placed)
  | ({ kind: 'beforeDue' } & Placed)
  | ({ kind: 'escalation'; level: number; to: LadderTarget; channels: string[] | null } & Placed);

const LOOP_LIMIT = 200_000;
/**
 * A repeat that names no time on a working day within this long is taken never to: in a year the days of a
 * month fall on every weekday.
 */
const SEARCH_MS = 400 * 86_400_000;

/** An assignment as the planner sees it, apart from what went out and the time now. */
type Assignment = Omit<EngineInput, keyof Progress | 'now'>;

function advance(cal: BusinessCalendar, clock: Clock, t: number, span: Span): number {
  if (clock === 'working') {
    const day = span.days > 0 ? addWorkingDays(cal, t, span.days) : t;
    return span.ms > 0 || span.days === 0 ? addWorkingTime(cal, day, span.ms) : day;
  }
  const day =
    span.days > 0 ? DateTime.fromMillis(t, { zone: cal.timeZone }).plus({ days: span.days }).toMillis() : t;
  return day + span.ms;
}

/** Before-due offsets are elapsed time: "2 hours before" means the clock on the wall. */
function retreat(cal: BusinessCalendar, t: number, span: Span): number {
  const day =
    span.days > 0 ? DateTime.fromMillis(t, { zone: cal.timeZone }).minus({ days: span.days }).toMillis() : t;
  return day - span.ms;
}

function memo<T>(f: (t: number) => T): (t: number) => T {
  const known = new Map<number, T>();
  return (t) => {
    if (!known.has(t)) known.set(t, f(t));
    return known.get(t)!;
  };
}

/**
 * Where whole calendar days are counted from: an instant showing the rule's own wall-clock time, and the
 * days from it to the first slot.
 */
interface DayBase {
  at: number;
  days: number;
}

/**
 * Steps through the times a span apart. Whole days on the calendar clock count from the base, not from the
 * step before, so a wall-clock time that a DST gap pushed on one day comes back the next.
 */
function spanSteps(cal: BusinessCalendar, clock: Clock, span: Span, base: () => DayBase): Stream['step'] {
  if (clock === 'calendar' && span.ms === 0) {
    return (index) => {
      const { at, days } = base();
      return DateTime.fromMillis(at, { zone: cal.timeZone })
        .plus({ days: days + (index + 1) * span.days })
        .toMillis();
    };
  }
  const after = memo((t) => advance(cal, clock, t, span));
  return (_, t) => after(t);
}

/**
 * The first instant after `t` that `after` gives. On the working clock one on a day off is passed over, and
 * one outside working hours waits for work to resume, as every time on that clock does.
 */
function named(s: Schedule, cal: BusinessCalendar, t: number, after: (t: number) => number): number {
  let next = after(t);
  if (s.clock === 'calendar' || isWorkingTime(cal, next)) return next;
  while (next <= t + SEARCH_MS) {
    const day = DateTime.fromMillis(next, { zone: cal.timeZone });
    if (isWorkingDay(cal, day.toISODate()!)) return addWorkingTime(cal, next, 0);
    const resumes = DateTime.fromMillis(nextWorkingStart(cal, day.endOf('day').toMillis()), {
      zone: cal.timeZone,
    });
    next = after(resumes.startOf('day').toMillis() - 1);
  }
  return Number.POSITIVE_INFINITY;
}

/** The next instant after a time that the repeat names. */
function repeater(s: Schedule, cal: BusinessCalendar): (t: number) => number {
  const { repeat } = s;
  if ('every' in repeat) return (t) => advance(cal, s.clock, t, repeat.every);
  if ('cron' in repeat) {
    const cron = new Cron(repeat.cron, { timezone: cal.timeZone });
    return (t) =>
      named(s, cal, t, (from) => cron.nextRun(new Date(from))?.getTime() ?? Number.POSITIVE_INFINITY);
  }
  return (t) => named(s, cal, t, (from) => timesAfter(repeat.timesOfDay, cal.timeZone, from));
}

/**
 * The first of the (sorted) times of day after t: the day's next one by the wall clock, else the next day's
 * first. Each comes once a day, like cron, though a fall-back shows the clock's repeated hour twice. Days
 * with one UTC offset throughout, nearly all, are read directly.
 */
function timesAfter(times: string[], zone: string, t: number): number {
  const shown = DateTime.fromMillis(t + 1, { zone });
  const today = shown.startOf('day');
  const tomorrow = today.plus({ days: 1 });
  const wall = shown.toFormat('HH:mm:ss.SSS');
  const later = times.filter((time) => `${time}:00.000` >= wall);
  if (today.offset === tomorrow.offset) {
    if (later[0]) return clockOn(today, later[0]);
  } else {
    for (const hhmm of later) {
      const at = nextTimeOfDay(zone, t + 1, hhmm);
      const fellBack = today.offset - DateTime.fromMillis(at, { zone }).offset;
      if (fellBack <= 0 || DateTime.fromMillis(at - fellBack * 60_000, { zone }).toFormat('HH:mm') !== hhmm)
        return at;
    }
  }
  const first = times[0]!;
  return tomorrow.offset === tomorrow.plus({ days: 1 }).offset
    ? clockOn(tomorrow, first)
    : nextTimeOfDay(zone, tomorrow.toMillis(), first);
}

const clockOn = (day: DateTime, hhmm: string) =>
  day.set({ hour: Number(hhmm.slice(0, 2)), minute: Number(hhmm.slice(3)) }).toMillis();

function firstSlot(
  s: Schedule,
  cal: BusinessCalendar,
  assignedAt: number,
  next: (t: number) => number,
): number {
  const { firstAt } = s;
  if (firstAt) return named(s, cal, assignedAt - 1, (from) => nextTimeOfDay(cal.timeZone, from + 1, firstAt));
  if (s.firstAfter) return advance(cal, s.clock, assignedAt, s.firstAfter);
  return next(assignedAt);
}

/**
 * In time order, which the offsets' order need not give: a calendar day before is 23 or 25 hours across a
 * DST change. Offsets landing on the same instant make one notice.
 */
function beforeDueSlots(input: Assignment, cal: BusinessCalendar): number[] {
  const { dueAt } = input;
  if (dueAt === null) return [];
  return [...new Set(input.schedule.beforeDue.map((offset) => retreat(cal, dueAt, offset)))].sort(
    (a, b) => a - b,
  );
}

const ladderFrom = (input: Assignment) =>
  input.dueAt === null ? input.assignedAt : Math.max(input.dueAt, input.assignedAt);

/**
 * When the ladder reaches each level: its `after` from the due time, or from the assignment when that is
 * later or there is no due time. Days and hours need not compare as the rule's order of levels assumes (a
 * working day is fewer working hours than 24, a calendar day across DST is 23 or 25 hours), so a level that
 * a higher one would reach first is reached together with it, and so passed over.
 */
function ladderStarts(input: Assignment, cal: BusinessCalendar): number[] {
  const from = ladderFrom(input);
  const own = input.schedule.ladder.map((level) => advance(cal, input.schedule.clock, from, level.after));
  return own.map((_, l) => Math.min(...own.slice(l)));
}

/** A rule's times for one assignment, each worked out once: a preview asks for the same ones again and again. */
interface Times {
  shift(t: number): number;
  firstReminder(): number;
  reminderStep: Stream['step'];
  /** Reminders a fixed time apart, which lets a long downtime be crossed without walking it. */
  reminderEvery: number | null;
  dueSlots: number[];
  starts: number[];
  ladderSteps: Stream['step'][];
}

function timesOf(input: Assignment): Times {
  const s = input.schedule;
  const cal = input.context.calendar;
  const quiet = s.urgent ? null : input.context.quiet;
  const next = memo(repeater(s, cal));
  let first: number | undefined;
  const firstReminder = () => {
    first ??= firstSlot(s, cal, input.assignedAt, next);
    return first;
  };
  const from = ladderFrom(input);
  const starts = ladderStarts(input, cal);
  const { repeat, firstAfter, firstAt } = s;
  // A first slot a whole number of days after the assignment may sit in a DST gap; the assignment does not.
  const reminderBase = (): DayBase =>
    firstAt || firstAfter?.ms
      ? { at: firstReminder(), days: 0 }
      : { at: input.assignedAt, days: firstAfter?.days ?? ('every' in repeat ? repeat.every.days : 0) };
  return {
    shift: quiet ? memo((t) => outOfQuietHours(quiet, t)) : (t) => t,
    firstReminder,
    reminderStep: 'every' in repeat ? spanSteps(cal, s.clock, repeat.every, reminderBase) : (_, t) => next(t),
    reminderEvery:
      'every' in repeat && s.clock === 'calendar' && repeat.every.days === 0 ? repeat.every.ms : null,
    dueSlots: beforeDueSlots(input, cal),
    starts,
    ladderSteps: s.ladder.map((rung, l) => {
      const base = (): DayBase =>
        rung.after.ms ? { at: starts[l]!, days: 0 } : { at: from, days: rung.after.days };
      return rung.every ? spanSteps(cal, s.clock, rung.every, base) : () => Number.POSITIVE_INFINITY;
    }),
  };
}

interface Stream {
  /** Index and slot of the next notice not yet sent. */
  index: number;
  slot: number;
  lastIndex: number;
  /** Slots at or after this belong to something else (the next ladder level). */
  endAt: number;
  /** The slot of the notice sent before, if any. */
  prevSlot: number | null;
  step(index: number, slot: number): number;
  /** The latest slot at or before `t` (never before the stream's own index), when it can be computed without walking. */
  jump?(t: number): { index: number; slot: number };
}

/**
 * Places a stream's next notice, so that a handler never gets a burst. Nothing goes out before now nor in
 * quiet hours, so the notice goes out at the first moment past both; the slots up to that moment fold into
 * it, whether missed while nothing ran or landing in the same quiet spell. Slots that would go out no later
 * than the notice before (the quiet hours changed since) fold into that one.
 */
function place(stream: Stream, shift: (t: number) => number, now: number): Placed | null {
  const start = stream.index;
  let { index, slot } = stream;
  const inRange = (i: number, t: number) => i <= stream.lastIndex && t < stream.endAt;
  if (!inRange(index, slot)) return null;
  const floor = stream.prevSlot === null ? Number.NEGATIVE_INFINITY : shift(stream.prevSlot);
  for (let guard = 0; shift(slot) <= floor && guard < LOOP_LIMIT; guard++) {
    const next = stream.step(index, slot);
    if (!inRange(index + 1, next)) return null;
    index += 1;
    slot = next;
  }
  // Up to the bound every slot would go out at it: the time from max(slot, now) to it is all quiet. A slot
  // that goes out on time has none after it to fold in.
  const bound = shift(Math.max(slot, now));
  if (bound > slot && stream.jump) {
    const latest = stream.jump(Math.min(bound, Number.MAX_SAFE_INTEGER));
    if (latest.index > index && inRange(latest.index, latest.slot)) ({ index, slot } = latest);
  }
  for (let guard = 0; bound > slot && guard < LOOP_LIMIT; guard++) {
    const next = stream.step(index, slot);
    if (!inRange(index + 1, next) || next > bound) break;
    index += 1;
    slot = next;
  }
  // A notice already due goes out at once; its time then says how late it is.
  return { at: bound > now ? bound : shift(slot), slot, index, skipped: index - start };
}

function reminderStream(input: EngineInput, times: Times): Stream {
  const s = input.schedule;
  const step = times.reminderStep;
  const fixed = times.reminderEvery;
  const slotAt = (i: number) => {
    const first = times.firstReminder();
    if (fixed !== null) return first + i * fixed;
    let t = first;
    for (let k = 0; k < i; k++) t = step(k, t);
    return t;
  };
  const n = input.remindersSent;
  const prevSlot = n === 0 ? null : (input.lastReminderSlot ?? slotAt(n - 1));
  return {
    index: n,
    slot: n > 0 && input.lastReminderSlot !== null ? step(n - 1, input.lastReminderSlot) : slotAt(n),
    lastIndex: s.maxCount === null ? Number.POSITIVE_INFINITY : s.maxCount - 1,
    endAt: Number.POSITIVE_INFINITY,
    prevSlot,
    step,
    ...(fixed !== null
      ? {
          jump: (t: number) => {
            const latest = Math.floor((t - times.firstReminder()) / fixed);
            const i = Math.max(
              n,
              Math.min(latest, s.maxCount === null ? Number.POSITIVE_INFINITY : s.maxCount - 1),
            );
            return { index: i, slot: slotAt(i) };
          },
        }
      : {}),
  };
}

function beforeDueStream(input: EngineInput, times: Times): Stream | null {
  const slots = times.dueSlots;
  // Offsets already behind at assignment are not sent: the assignment notice covers them.
  const firstLive = slots.findIndex((t) => t >= input.assignedAt);
  if (firstLive === -1) return null;
  const index = Math.max(input.beforeDueSent, firstLive);
  if (index >= slots.length) return null;
  return {
    index,
    slot: slots[index]!,
    lastIndex: slots.length - 1,
    endAt: Number.POSITIVE_INFINITY,
    prevSlot: input.lastBeforeDueSlot,
    step: (i) => slots[i + 1] ?? Number.POSITIVE_INFINITY,
  };
}

function ladderStream(input: EngineInput, times: Times, level: number): Stream | null {
  const { starts } = times;
  const ack = input.acknowledgedAt;
  const climbed = (l: number) => ack === null || starts[l]! <= ack;
  if (!climbed(level)) return null;
  const sent = input.ladderSent[level] ?? 0;
  const step = times.ladderSteps[level]!;
  let slot = starts[level]!;
  const prevSlot = input.lastLadderSlot[level] ?? null;
  if (sent > 0)
    slot =
      prevSlot !== null
        ? step(sent - 1, prevSlot)
        : Array.from({ length: sent }).reduce<number>((t, _, k) => step(k, t), slot);
  const next =
    level + 1 < starts.length && climbed(level + 1) ? starts[level + 1]! : Number.POSITIVE_INFINITY;
  return {
    index: sent,
    slot,
    lastIndex: input.schedule.ladder[level]!.maxCount - 1,
    endAt: next,
    prevSlot,
    step,
  };
}

function plan(input: EngineInput, times: Times): Planned | null {
  const candidates: Planned[] = [];
  for (let level = 0; level < times.starts.length; level++) {
    const stream = ladderStream(input, times, level);
    const placed = stream && place(stream, times.shift, input.now);
    if (placed) {
      const rung = input.schedule.ladder[level]!;
      candidates.push({ kind: 'escalation', level, to: rung.to, channels: rung.channels, ...placed });
    }
  }
  const beforeDue = beforeDueStream(input, times);
  const due = beforeDue && place(beforeDue, times.shift, input.now);
  if (due) candidates.push({ kind: 'beforeDue', ...due });
  const reminder = place(reminderStream(input, times), times.shift, input.now);
  if (reminder) candidates.push({ kind: 'reminder', ...reminder });
  // Earliest first; on a tie the escalation goes first, so the supervisor hears before the reminder repeats.
  return candidates.reduce<Planned | null>((best, c) => (best === null || c.at < best.at ? c : best), null);
}

/** The next notice for the current assignment, or null when the rule has nothing more to send. */
export function planNotice(input: EngineInput): Planned | null {
  return plan(input, timesOf(input));
}

/** Progress after `notice` went out. */
export function afterNotice(progress: Progress, notice: Planned): Progress {
  if (notice.kind === 'reminder')
    return { ...progress, remindersSent: notice.index + 1, lastReminderSlot: notice.slot };
  if (notice.kind === 'beforeDue')
    return { ...progress, beforeDueSent: notice.index + 1, lastBeforeDueSlot: notice.slot };
  const ladderSent = [...progress.ladderSent];
  const lastLadderSlot = [...progress.lastLadderSlot];
  ladderSent[notice.level] = notice.index + 1;
  lastLadderSlot[notice.level] = notice.slot;
  return { ...progress, ladderSent, lastLadderSlot };
}

export const NOTHING_SENT: Progress = {
  remindersSent: 0,
  lastReminderSlot: null,
  beforeDueSent: 0,
  lastBeforeDueSlot: null,
  ladderSent: [],
  lastLadderSlot: [],
  acknowledgedAt: null,
};

/** The first `count` notices a rule would send for one assignment, if nobody acts. */
export function previewSchedule(
  input: Assignment & { acknowledgedAt?: number | null },
  count: number,
): Planned[] {
  const times = timesOf(input);
  let progress: Progress = { ...NOTHING_SENT, acknowledgedAt: input.acknowledgedAt ?? null };
  let now = input.assignedAt;
  const planned: Planned[] = [];
  while (planned.length < count) {
    const next = plan({ ...input, ...progress, now }, times);
    if (!next || !Number.isFinite(next.at)) break;
    planned.push(next);
    progress = afterNotice(progress, next);
    now = Math.max(now, next.at);
  }
  return planned;
}

/**
 * After the due time changed (or the rule, in runs from before `replanProgress`): what is behind stays sent,
 * what moved ahead will go out again.
 */
export function rebaseProgress(input: EngineInput): Progress {
  const cal = input.context.calendar;
  const starts = ladderStarts(input, cal);
  const dueSlots = beforeDueSlots(input, cal);
  return {
    remindersSent: input.remindersSent,
    lastReminderSlot: null,
    beforeDueSent: dueSlots.filter((t) => t <= input.now).length,
    lastBeforeDueSlot: null,
    ladderSent: starts.map((start, l) => (start > input.now ? 0 : (input.ladderSent[l] ?? 0))),
    lastLadderSlot: starts.map((start, l) => (start > input.now ? null : (input.lastLadderSlot[l] ?? null))),
    acknowledgedAt: input.acknowledgedAt,
  };
}

/**
 * After the rule itself changed: its reminders go on as if it had been the rule since the assignment. Its
 * slots up to now count as gone out, so the change brings neither a burst of the new cadence nor a silence as
 * long as the old count of reminders; the next one is the new rule's first slot after now.
 */
export function replanProgress(input: EngineInput): Progress {
  const times = timesOf(input);
  const cap = input.schedule.maxCount ?? Number.POSITIVE_INFINITY;
  let count = 0;
  let last: number | null = null;
  let slot = times.firstReminder();
  if (times.reminderEvery !== null && slot <= input.now) {
    count = Math.min(cap, Math.floor((input.now - slot) / times.reminderEvery) + 1);
    last = slot + (count - 1) * times.reminderEvery;
  } else {
    for (let guard = 0; slot <= input.now && count < cap && guard < LOOP_LIMIT; guard++) {
      last = slot;
      count += 1;
      slot = times.reminderStep(count - 1, slot);
    }
  }
  return { ...rebaseProgress(input), remindersSent: count, lastReminderSlot: last };
}

/**
 * After the assignment's clock stood still for `pausedMs` (`input` already counts from the later start): what
 * went out moves with it, so the rule goes on where it stopped instead of catching up. Before-due reminders
 * are tied to the due time; those that fell in the pause are dropped.
 */
export function resumeProgress(input: EngineInput, pausedMs: number): Progress {
  const shift = (t: number | null) => (t === null ? null : t + pausedMs);
  const dueSlots = beforeDueSlots(input, input.context.calendar);
  return {
    remindersSent: input.remindersSent,
    lastReminderSlot: shift(input.lastReminderSlot),
    beforeDueSent: Math.max(input.beforeDueSent, dueSlots.filter((t) => t <= input.now).length),
    lastBeforeDueSlot: input.lastBeforeDueSlot,
    ladderSent: input.ladderSent,
    lastLadderSlot: input.lastLadderSlot.map(shift),
    acknowledgedAt: input.acknowledgedAt,
  };
}
