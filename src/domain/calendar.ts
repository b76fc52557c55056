import { DateTime, IANAZone } from 'luxon';
import { parseDuration } from './duration.js';

/**
 * Business calendars and quiet hours: the time base of the reminder rules. Workflow code calls this,
 * so everything here is a pure function of its arguments; instants are epoch milliseconds.
 *
 * Hours are wall-clock times: an instant is working time when the clock in the calendar's zone shows a
 * working date and a time within a working period. A period that a DST gap cuts into is shorter that day;
 * one that holds the hour a fall-back repeats is longer by it.
 */

/** 'HH:mm' local, start before end within one day; an end may be '24:00'. */
export interface WorkingPeriod {
  start: string;
  end: string;
}

export interface BusinessCalendar {
  /** IANA zone whose clock the hours and dates are read on, such as 'Asia/Shanghai'. */
  timeZone: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  workingDays: number[];
  /** Sorted and non-overlapping. */
  workingHours: WorkingPeriod[];
  /** 'YYYY-MM-DD' local dates off work whatever their weekday. */
  holidays: string[];
  /** 'YYYY-MM-DD' local dates at work whatever their weekday, such as a Saturday worked for a moved holiday (调休). */
  workdays: string[];
}

/** 'HH:mm' in timeZone; wraps midnight when start is after end (22:00–07:30); start == end means none. */
export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

export const ROUND_THE_CLOCK: BusinessCalendar = {
  timeZone: 'UTC',
  workingDays: [1, 2, 3, 4, 5, 6, 7],
  workingHours: [{ start: '00:00', end: '24:00' }],
  holidays: [],
  workdays: [],
};

export class CalendarError extends Error {
  readonly code = 'INVALID_CALENDAR';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How far a search goes without meeting working time before it blames the calendar. */
const SEARCH_DAYS = 3660;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const END_OF_DAY = '24:00';
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Weeks and days of an ISO 8601 duration; fractions of them have no working-day meaning. */
const DAY_PART = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T|$)/i;

/** [from, to): milliseconds into a day on the wall clock, or epoch milliseconds. */
type Range = readonly [from: number, to: number];

/** A stretch of one local date with a single UTC offset, over which the wall clock keeps pace with time. */
interface Run {
  from: number;
  to: number;
  wallFrom: number;
}

function noWorkingTime(): CalendarError {
  return new CalendarError('calendar has no working time within 10 years', 'workingDays');
}

function checkZone(zone: string, field: string): void {
  if (!IANAZone.isValidZone(zone)) {
    throw new CalendarError(`${field}: "${zone}" is not an IANA time zone such as Asia/Shanghai`, field);
  }
}

/** 'HH:mm' from 00:00 to 23:59, as calendars, quiet hours and reminder rules write a time of day. */
export const isTimeOfDay = (text: string): boolean => HH_MM.test(text);

function checkClock(text: string, field: string, endOfDay = false): void {
  if (!isTimeOfDay(text) && !(endOfDay && text === END_OF_DAY)) {
    throw new CalendarError(`${field}: "${text}" is not a time of day 'HH:mm'`, field);
  }
}

function parseDate(text: string, field: string): DateTime {
  const date = DateTime.fromISO(text, { zone: 'utc' });
  // fromISO also takes week dates and basic formats, which calendars do not use.
  if (!ISO_DATE.test(text) || !date.isValid) {
    throw new CalendarError(`${field}: "${text}" is not a date 'YYYY-MM-DD'`, field);
  }
  return date;
}

/** Milliseconds into the day of a checked 'HH:mm'. */
function timeOfDay(hhmm: string): number {
  if (hhmm === END_OF_DAY) return DAY_MS;
  return (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))) * MINUTE_MS;
}

function checkWorkingHours(periods: WorkingPeriod[]): void {
  if (periods.length === 0) {
    throw new CalendarError('workingHours: a calendar needs a working period', 'workingHours');
  }
  for (const [i, period] of periods.entries()) {
    const field = `workingHours[${i}]`;
    checkClock(period.start, `${field}.start`);
    checkClock(period.end, `${field}.end`, true);
    if (timeOfDay(period.end) <= timeOfDay(period.start)) {
      throw new CalendarError(
        `${field}.end: ${period.end} is not after the start ${period.start}`,
        `${field}.end`,
      );
    }
    const before = periods[i - 1];
    if (before && timeOfDay(period.start) < timeOfDay(before.end)) {
      throw new CalendarError(
        `${field}.start: ${period.start} is before the end ${before.end} of the period before it`,
        `${field}.start`,
      );
    }
  }
}

/** Throws a CalendarError naming the first field that is wrong. */
export function checkCalendar(cal: BusinessCalendar): void {
  checkZone(cal.timeZone, 'timeZone');
  for (const [i, day] of cal.workingDays.entries()) {
    if (!Number.isInteger(day) || day < 1 || day > 7) {
      throw new CalendarError(
        `workingDays[${i}]: ${day} is not an ISO weekday 1 (Monday) to 7 (Sunday)`,
        `workingDays[${i}]`,
      );
    }
  }
  checkWorkingHours(cal.workingHours);
  for (const [i, date] of cal.holidays.entries()) parseDate(date, `holidays[${i}]`);
  for (const [i, date] of cal.workdays.entries()) {
    parseDate(date, `workdays[${i}]`);
    if (cal.holidays.includes(date)) {
      throw new CalendarError(`workdays[${i}]: ${date} is a holiday as well`, `workdays[${i}]`);
    }
  }
  if (cal.workingDays.length === 0 && cal.workdays.length === 0) {
    throw new CalendarError(
      'workingDays: the calendar has no working day in a week and no workdays',
      'workingDays',
    );
  }
}

export function checkQuietHours(q: QuietHours): void {
  checkZone(q.timeZone, 'timeZone');
  checkClock(q.start, 'start');
  checkClock(q.end, 'end');
}

/** The local date of an instant, as a UTC midnight so that dates step by whole days, and its wall-clock time. */
function clockAt(zone: string, ms: number): { date: DateTime; wall: number } {
  const t = DateTime.fromMillis(ms, { zone });
  return {
    date: DateTime.utc(t.year, t.month, t.day),
    wall: t.hour * HOUR_MS + t.minute * MINUTE_MS + t.second * SECOND_MS + t.millisecond,
  };
}

/** The first t in (lo, hi] for which holds(t), given that it fails at lo and, once true, stays true up to hi. */
function firstWhere(lo: number, hi: number, holds: (t: number) => boolean): number {
  let [miss, hit] = [lo, hi];
  while (hit - miss > 1) {
    const mid = Math.floor((miss + hit) / 2);
    if (holds(mid)) hit = mid;
    else miss = mid;
  }
  return hit;
}

/** The first instant of a local date: not midnight where a DST change skips or repeats midnight. */
function dayStart(zone: string, date: DateTime): number {
  const guess = DateTime.fromObject(
    { year: date.year, month: date.month, day: date.day },
    { zone },
  ).toMillis();
  const reached = (t: number) => clockAt(zone, t).date >= date;
  if (!reached(guess - 1)) return guess;
  // luxon reads a repeated midnight as its later occurrence and a skipped one as past the gap.
  return firstWhere(guess - DAY_MS, guess, reached);
}

/** A local date cut where its UTC offset changes; no zone changes offset twice in a day. */
function dayRuns(zone: string, date: DateTime): Run[] {
  const from = dayStart(zone, date);
  const to = dayStart(zone, date.plus({ days: 1 }));
  // Samoa skipped 2011-12-30 entirely.
  if (from === to) return [];
  const offsetAt = (t: number) => DateTime.fromMillis(t, { zone }).offset;
  const last = offsetAt(to - 1);
  const run = (start: number, end: number): Run => ({
    from: start,
    to: end,
    wallFrom: clockAt(zone, start).wall,
  });
  if (offsetAt(from) === last) return [run(from, to)];
  const change = firstWhere(from, to - 1, (t) => offsetAt(t) === last);
  return [run(from, change), run(change, to)];
}

/** The instants of a day whose wall-clock time lies in one of the windows, in time order. */
function spansOn(runs: Run[], windows: readonly Range[]): Range[] {
  return runs.flatMap((run) =>
    windows.flatMap(([start, end]): Range[] => {
      const from = Math.max(start, run.wallFrom);
      const to = Math.min(end, run.wallFrom + run.to - run.from);
      return from < to ? [[run.from + from - run.wallFrom, run.from + to - run.wallFrom]] : [];
    }),
  );
}

function inWindows(windows: readonly Range[], wall: number): boolean {
  return windows.some(([from, to]) => from <= wall && wall < to);
}

/** The first instant from ms at which the clock shows time, or where a DST gap skips time, the gap's end. */
function nextReading(zone: string, ms: number, time: number): number {
  const { date } = clockAt(zone, ms);
  let shownUpTo = 0;
  for (const run of dayRuns(zone, date)) {
    const wallTo = run.wallFrom + run.to - run.from;
    // A run also stands for the times skipped just before it; after a fall-back it shows no earlier ones.
    if (Math.min(shownUpTo, run.wallFrom) <= time && time < wallTo) {
      const at = run.from + Math.max(0, time - run.wallFrom);
      if (at >= ms) return at;
    }
    shownUpTo = wallTo;
  }
  return nextReading(zone, dayStart(zone, date.plus({ days: 1 })), time);
}

export function nextTimeOfDay(timeZone: string, ms: number, hhmm: string): number {
  checkZone(timeZone, 'timeZone');
  checkClock(hhmm, 'hhmm');
  return nextReading(timeZone, ms, timeOfDay(hhmm));
}

function isWorkingDate(cal: BusinessCalendar, date: DateTime): boolean {
  const iso = date.toISODate() ?? '';
  if (cal.workdays.includes(iso)) return true;
  return !cal.holidays.includes(iso) && cal.workingDays.includes(date.weekday);
}

export function isWorkingDay(cal: BusinessCalendar, localDate: string): boolean {
  return isWorkingDate(cal, parseDate(localDate, 'localDate'));
}

function periodsOf(cal: BusinessCalendar): Range[] {
  return cal.workingHours.map((p) => [timeOfDay(p.start), timeOfDay(p.end)]);
}

export function isWorkingTime(cal: BusinessCalendar, ms: number): boolean {
  const { date, wall } = clockAt(cal.timeZone, ms);
  return isWorkingDate(cal, date) && inWindows(periodsOf(cal), wall);
}

/** Working dates from `from` on; ends after SEARCH_DAYS in a row without one. */
function* workingDates(cal: BusinessCalendar, from: DateTime): Generator<DateTime> {
  for (let date = from, idle = 0; idle < SEARCH_DAYS; date = date.plus({ days: 1 })) {
    if (isWorkingDate(cal, date)) {
      idle = 0;
      yield date;
    } else {
      idle += 1;
    }
  }
}

/** Working time in time order, from the spans of the date of the instant just before ms. */
function* workingSpans(cal: BusinessCalendar, ms: number): Generator<Range> {
  const periods = periodsOf(cal);
  // A period running to 24:00 ends at the next date's first instant, so one ending at ms may be yesterday's.
  for (const date of workingDates(cal, clockAt(cal.timeZone, ms - 1).date)) {
    yield* spansOn(dayRuns(cal.timeZone, date), periods);
  }
}

export function nextWorkingStart(cal: BusinessCalendar, ms: number): number {
  for (const [from, to] of workingSpans(cal, ms)) {
    if (ms < to) return Math.max(from, ms);
  }
  throw noWorkingTime();
}

/**
 * The earliest instant by which durationMs of working time has passed since ms, and which is working time
 * or a period's end. So 0 from outside working time gives the next working start, but 0 from exactly a
 * period's end gives that end back: only that keeps add(add(t, a), b) equal to add(t, a + b).
 */
export function addWorkingTime(cal: BusinessCalendar, ms: number, durationMs: number): number {
  if (!(Number.isFinite(durationMs) && durationMs >= 0)) {
    throw new CalendarError(`durationMs: ${durationMs} is not a length of time`, 'durationMs');
  }
  let left = durationMs;
  for (const [from, to] of workingSpans(cal, ms)) {
    if (to < ms) continue;
    const start = Math.max(from, ms);
    if (start + left <= to) return start + left;
    left -= to - start;
  }
  throw noWorkingTime();
}

/** The same wall-clock time on the days-th working date after the one working time resumes on. */
export function addWorkingDays(cal: BusinessCalendar, ms: number, days: number): number {
  if (!(Number.isInteger(days) && days >= 0)) {
    throw new CalendarError(`days: ${days} is not a whole number of days`, 'days');
  }
  const start = nextWorkingStart(cal, ms);
  if (days === 0) return start;
  const { date, wall } = clockAt(cal.timeZone, start);
  let left = days;
  for (const target of workingDates(cal, date.plus({ days: 1 }))) {
    left -= 1;
    if (left === 0) {
      return nextWorkingStart(cal, nextReading(cal.timeZone, dayStart(cal.timeZone, target), wall));
    }
  }
  throw noWorkingTime();
}

/**
 * Adds an ISO 8601 duration. On the calendar clock its days are calendar days in the calendar's zone and
 * its time is elapsed time; on the working clock they are working days, then working time.
 */
export function addDuration(
  cal: BusinessCalendar,
  ms: number,
  iso: string,
  clock: 'calendar' | 'working',
): number {
  const total = parseDuration(iso);
  const part = DAY_PART.exec(iso);
  if (!part) {
    throw new CalendarError(`duration: "${iso}" must count weeks and days in whole numbers`, 'duration');
  }
  const [, weeks, days] = part;
  const dayCount = Number(weeks ?? 0) * 7 + Number(days ?? 0);
  // parseDuration counts a day as 24 hours, so taking those out leaves the time part.
  const timeMs = total - dayCount * DAY_MS;
  if (clock === 'calendar') {
    return DateTime.fromMillis(ms, { zone: cal.timeZone }).plus({ days: dayCount }).toMillis() + timeMs;
  }
  if (weeks !== undefined) {
    throw new CalendarError(
      `duration: "${iso}" counts weeks, which have no agreed number of working days; count days (P5D)`,
      'duration',
    );
  }
  return addWorkingTime(cal, addWorkingDays(cal, ms, dayCount), timeMs);
}

function quietWindows(q: QuietHours): Range[] {
  const start = timeOfDay(q.start);
  const end = timeOfDay(q.end);
  if (start === end) return [];
  return start < end
    ? [[start, end]]
    : [
        [0, end],
        [start, DAY_MS],
      ];
}

export function inQuietHours(q: QuietHours, ms: number): boolean {
  return inWindows(quietWindows(q), clockAt(q.timeZone, ms).wall);
}

export function outOfQuietHours(q: QuietHours, ms: number): number {
  const { date } = clockAt(q.timeZone, ms);
  const span = spansOn(dayRuns(q.timeZone, date), quietWindows(q)).find(
    ([from, to]) => from <= ms && ms < to,
  );
  // Quiet hours that wrap midnight end one day and go on the next, so the hop past one span can land in another.
  return span ? outOfQuietHours(q, span[1]) : ms;
}
