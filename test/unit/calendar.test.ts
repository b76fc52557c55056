import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  addDuration,
  addWorkingDays,
  addWorkingTime,
  type BusinessCalendar,
  checkCalendar,
  checkQuietHours,
  inQuietHours,
  isWorkingDay,
  isWorkingTime,
  nextTimeOfDay,
  nextWorkingStart,
  outOfQuietHours,
  type QuietHours,
  ROUND_THE_CLOCK,
} from '../../src/domain/calendar.js';
import { DurationError } from '../../src/domain/duration.js';
import { SHANGHAI_OFFICE } from '../support/calendars.js';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const SHANGHAI: BusinessCalendar = SHANGHAI_OFFICE;

/** National Day 2025 as the State Council published it, and a 2026 holiday week with its make-up Saturday. */
const CHINA: BusinessCalendar = {
  ...SHANGHAI,
  holidays: [
    ...['01', '02', '03', '04', '05', '06', '07', '08'].map((d) => `2025-10-${d}`),
    ...['01', '02', '03', '04', '05', '06', '07'].map((d) => `2026-10-${d}`),
  ],
  workdays: ['2025-09-28', '2025-10-11', '2026-10-10'],
};

const NEW_YORK: BusinessCalendar = {
  timeZone: 'America/New_York',
  workingDays: [1, 2, 3, 4, 5],
  workingHours: [{ start: '09:00', end: '17:00' }],
  holidays: [],
  workdays: [],
};

/** Every day, over the hours a DST change moves in New York. */
const NEW_YORK_NIGHTS: BusinessCalendar = {
  ...NEW_YORK,
  workingDays: [1, 2, 3, 4, 5, 6, 7],
  workingHours: [{ start: '01:00', end: '04:00' }],
};

const at = (iso: string): number => DateTime.fromISO(iso).toMillis();

/** An instant as the clock in the zone shows it, for readable expectations. */
function shown(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true }) ?? 'invalid';
}

/** What a thrown CalendarError naming the field matches. */
function refusal(field: string) {
  return expect.objectContaining({ code: 'INVALID_CALENDAR', field });
}

describe('business calendar — Shanghai office hours', () => {
  const sh = (ms: number) => shown(ms, SHANGHAI.timeZone);
  const fridayEvening = at('2026-11-20T17:50:00+08:00');

  it('when 4 working hours are added three times from Friday 17:50, then they land Monday 13:50, Monday 17:50, Tuesday 13:50', () => {
    const first = addWorkingTime(SHANGHAI, fridayEvening, 4 * HOUR);
    const second = addWorkingTime(SHANGHAI, first, 4 * HOUR);
    const third = addWorkingTime(SHANGHAI, second, 4 * HOUR);
    expect([sh(first), sh(second), sh(third)]).toEqual([
      '2026-11-23T13:50:00+08:00',
      '2026-11-23T17:50:00+08:00',
      '2026-11-24T13:50:00+08:00',
    ]);
  });

  it('when 1 working day is added to Friday 17:50, then it is Monday 17:50, not the Wednesday 24 working hours reach', () => {
    const oneDay = addWorkingDays(SHANGHAI, fridayEvening, 1);
    const dayOfHours = addWorkingTime(SHANGHAI, fridayEvening, 24 * HOUR);
    expect(sh(oneDay)).toBe('2026-11-23T17:50:00+08:00');
    expect(sh(dayOfHours)).toBe('2026-11-25T17:50:00+08:00');
    expect(addDuration(SHANGHAI, fridayEvening, 'P1D', 'working')).toBe(oneDay);
    expect(addDuration(SHANGHAI, fridayEvening, 'PT24H', 'working')).toBe(dayOfHours);
  });

  it('when a working duration has days and time, then the days go first: P1DT2H from Friday 17:50 is Tuesday 10:50', () => {
    expect(sh(addDuration(SHANGHAI, fridayEvening, 'P1DT2H', 'working'))).toBe('2026-11-24T10:50:00+08:00');
  });

  it('when a time is before business hours, then counting starts at 09:00 the same day: Monday 07:00 + 1 h is 10:00', () => {
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T07:00:00+08:00'), HOUR))).toBe(
      '2026-11-23T10:00:00+08:00',
    );
    expect(sh(nextWorkingStart(SHANGHAI, at('2026-11-23T07:00:00+08:00')))).toBe('2026-11-23T09:00:00+08:00');
  });

  it('when a time is in the lunch break, then counting starts at 13:00: 12:30 + 30 min is 13:30', () => {
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T12:30:00+08:00'), 30 * MINUTE))).toBe(
      '2026-11-23T13:30:00+08:00',
    );
  });

  it('when working time runs out exactly at a period end, then the result stays at that end', () => {
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T17:00:00+08:00'), HOUR))).toBe(
      '2026-11-23T18:00:00+08:00',
    );
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T11:00:00+08:00'), HOUR))).toBe(
      '2026-11-23T12:00:00+08:00',
    );
    expect(isWorkingTime(SHANGHAI, at('2026-11-23T18:00:00+08:00'))).toBe(false);
  });

  it('when nothing is added at a period end, then that end comes back; from any other idle time, the next start', () => {
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T18:00:00+08:00'), 0))).toBe(
      '2026-11-23T18:00:00+08:00',
    );
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T18:30:00+08:00'), 0))).toBe(
      '2026-11-24T09:00:00+08:00',
    );
    expect(sh(addWorkingTime(SHANGHAI, at('2026-11-23T10:00:00+08:00'), 0))).toBe(
      '2026-11-23T10:00:00+08:00',
    );
  });

  it('when a period runs to 24:00, then it ends at the next midnight, and adding nothing there stays there', () => {
    const evenings = { ...SHANGHAI, workingHours: [{ start: '18:00', end: '24:00' }] };
    const midnight = addWorkingTime(evenings, at('2026-11-20T23:00:00+08:00'), HOUR);
    expect(sh(midnight)).toBe('2026-11-21T00:00:00+08:00');
    expect(addWorkingTime(evenings, midnight, 0)).toBe(midnight);
    expect(sh(addWorkingTime(evenings, midnight, MINUTE))).toBe('2026-11-23T18:01:00+08:00');
  });

  it('when a working day starts in the lunch break, then it resumes at 13:00 and lands at 13:00 the next working day', () => {
    expect(sh(addWorkingDays(SHANGHAI, at('2026-11-20T12:30:00+08:00'), 1))).toBe(
      '2026-11-23T13:00:00+08:00',
    );
    expect(sh(addWorkingDays(SHANGHAI, at('2026-11-21T10:00:00+08:00'), 0))).toBe(
      '2026-11-23T09:00:00+08:00',
    );
  });

  it('when the calendar clock adds P1W or PT4H, then it counts calendar days and elapsed time', () => {
    expect(sh(addDuration(SHANGHAI, fridayEvening, 'P1W', 'calendar'))).toBe('2026-11-27T17:50:00+08:00');
    expect(sh(addDuration(SHANGHAI, fridayEvening, 'PT4H', 'calendar'))).toBe('2026-11-20T21:50:00+08:00');
  });
});

describe('business calendar — holidays and 调休 workdays', () => {
  const sh = (ms: number) => shown(ms, CHINA.timeZone);

  it.each([
    ['2025-09-28', 'Sunday made a workday', true],
    ['2025-10-11', 'Saturday made a workday', true],
    ['2026-10-10', 'Saturday made a workday', true],
    ['2025-10-08', 'Wednesday holiday', false],
    ['2025-10-04', 'Saturday in the holiday week', false],
    ['2025-10-12', 'ordinary Sunday', false],
    ['2025-10-09', 'ordinary Thursday', true],
  ])('when the date is %s (%s), then isWorkingDay is %s', (date, _what, working) => {
    expect(isWorkingDay(CHINA, date)).toBe(working);
  });

  it.each([
    ['2025-10-10T17:00:00+08:00', '2025-10-11T10:00:00+08:00'],
    ['2026-10-09T17:00:00+08:00', '2026-10-10T10:00:00+08:00'],
    ['2025-09-26T17:00:00+08:00', '2025-09-28T10:00:00+08:00'],
  ])(
    'when 2 working hours are added to %s before a make-up workday, then they end on it at %s',
    (from, to) => {
      expect(sh(addWorkingTime(CHINA, at(from), 2 * HOUR))).toBe(to);
    },
  );

  it.each([
    ['2025-09-30T17:00:00+08:00', '2025-10-09T10:00:00+08:00'],
    ['2026-09-30T17:00:00+08:00', '2026-10-08T10:00:00+08:00'],
  ])(
    'when 2 working hours are added to %s, the eve of the holidays, then they end after them at %s',
    (from, to) => {
      expect(sh(addWorkingTime(CHINA, at(from), 2 * HOUR))).toBe(to);
    },
  );

  it('when a working day is added on the eve of the holidays, then it lands on the first day after them', () => {
    expect(sh(addWorkingDays(CHINA, at('2025-09-30T09:00:00+08:00'), 1))).toBe('2025-10-09T09:00:00+08:00');
  });
});

describe('quiet hours — Shanghai nights', () => {
  const night: QuietHours = { start: '22:00', end: '07:30', timeZone: 'Asia/Shanghai' };
  const sh = (ms: number) => shown(ms, night.timeZone);

  it.each([
    ['2026-11-20T23:15:00+08:00', true, '2026-11-21T07:30:00+08:00'],
    ['2026-11-21T02:00:00+08:00', true, '2026-11-21T07:30:00+08:00'],
    ['2026-11-20T22:00:00+08:00', true, '2026-11-21T07:30:00+08:00'],
    ['2026-11-21T07:30:00+08:00', false, '2026-11-21T07:30:00+08:00'],
    ['2026-11-20T21:59:00+08:00', false, '2026-11-20T21:59:00+08:00'],
  ])('when it is %s, then quiet is %s and messages may go at %s', (time, quiet, allowed) => {
    expect(inQuietHours(night, at(time))).toBe(quiet);
    expect(sh(outOfQuietHours(night, at(time)))).toBe(allowed);
  });

  it('when start equals end, then there are no quiet hours', () => {
    const none = { ...night, end: '22:00' };
    expect(inQuietHours(none, at('2026-11-20T22:30:00+08:00'))).toBe(false);
    expect(outOfQuietHours(none, at('2026-11-20T22:30:00+08:00'))).toBe(at('2026-11-20T22:30:00+08:00'));
  });

  it('when the next 07:30 is asked for, then it is the next morning, or the instant itself at 07:30', () => {
    expect(sh(nextTimeOfDay('Asia/Shanghai', at('2026-11-20T23:15:00+08:00'), '07:30'))).toBe(
      '2026-11-21T07:30:00+08:00',
    );
    expect(sh(nextTimeOfDay('Asia/Shanghai', at('2026-11-21T07:30:00+08:00'), '07:30'))).toBe(
      '2026-11-21T07:30:00+08:00',
    );
  });
});

describe('DST — America/New_York 2026-03-08 (spring forward) and 2026-11-01 (fall back)', () => {
  const ny = (ms: number) => shown(ms, 'America/New_York');

  it('when P1D is added on the calendar clock, then the wall time stays though the day is 23 or 25 hours', () => {
    const spring = at('2026-03-07T09:00:00-05:00');
    const fall = at('2026-10-31T09:00:00-04:00');
    expect(ny(addDuration(NEW_YORK, spring, 'P1D', 'calendar'))).toBe('2026-03-08T09:00:00-04:00');
    expect(addDuration(NEW_YORK, spring, 'P1D', 'calendar') - spring).toBe(23 * HOUR);
    expect(ny(addDuration(NEW_YORK, fall, 'P1D', 'calendar'))).toBe('2026-11-01T09:00:00-05:00');
    expect(addDuration(NEW_YORK, fall, 'P1D', 'calendar') - fall).toBe(25 * HOUR);
    expect(ny(addDuration(NEW_YORK, spring, 'PT24H', 'calendar'))).toBe('2026-03-08T10:00:00-04:00');
  });

  it('when working time crosses a DST weekend, then Monday is reached at the exact wall time', () => {
    const spring = at('2026-03-06T16:00:00-05:00');
    const fall = at('2026-10-30T16:00:00-04:00');
    expect(ny(addWorkingTime(NEW_YORK, spring, 2 * HOUR))).toBe('2026-03-09T10:00:00-04:00');
    expect(addWorkingTime(NEW_YORK, spring, 2 * HOUR) - spring).toBe(65 * HOUR);
    expect(ny(addWorkingTime(NEW_YORK, fall, 2 * HOUR))).toBe('2026-11-02T10:00:00-05:00');
    expect(addWorkingTime(NEW_YORK, fall, 2 * HOUR) - fall).toBe(67 * HOUR);
  });

  it('when Europe/London springs forward, then Friday 17:00 + 1 h is Monday 09:30 in summer time', () => {
    const london = {
      ...NEW_YORK,
      timeZone: 'Europe/London',
      workingHours: [{ start: '09:00', end: '17:30' }],
    };
    const result = addWorkingTime(london, at('2026-03-27T17:00:00+00:00'), HOUR);
    expect(shown(result, 'Europe/London')).toBe('2026-03-30T09:30:00+01:00');
  });

  it('when a period holds the gap or the repeated hour, then it is 2 h or 4 h long instead of 3 h', () => {
    expect(ny(addWorkingTime(NEW_YORK_NIGHTS, at('2026-03-08T01:00:00-05:00'), 2 * HOUR))).toBe(
      '2026-03-08T04:00:00-04:00',
    );
    expect(ny(addWorkingTime(NEW_YORK_NIGHTS, at('2026-03-08T01:00:00-05:00'), 3 * HOUR))).toBe(
      '2026-03-09T02:00:00-04:00',
    );
    expect(ny(addWorkingTime(NEW_YORK_NIGHTS, at('2026-11-01T01:00:00-04:00'), 4 * HOUR))).toBe(
      '2026-11-01T04:00:00-05:00',
    );
    const allDay = { ...NEW_YORK_NIGHTS, workingHours: [{ start: '00:00', end: '24:00' }] };
    expect(ny(addWorkingTime(allDay, at('2026-03-08T00:00:00-05:00'), DAY))).toBe(
      '2026-03-09T01:00:00-04:00',
    );
    expect(ny(addWorkingTime(allDay, at('2026-11-01T00:00:00-04:00'), DAY))).toBe(
      '2026-11-01T23:00:00-05:00',
    );
  });

  it('when a working day lands on a wall time the gap skips, then it moves to the end of the gap', () => {
    expect(ny(addWorkingDays(NEW_YORK_NIGHTS, at('2026-03-07T02:30:00-05:00'), 1))).toBe(
      '2026-03-08T03:00:00-04:00',
    );
  });

  it('when quiet hours are 01:30–03:00 across the gap, then quiet ends at 03:00 EDT after half an hour', () => {
    const q: QuietHours = { start: '01:30', end: '03:00', timeZone: 'America/New_York' };
    expect(inQuietHours(q, at('2026-03-08T01:29:00-05:00'))).toBe(false);
    expect(ny(outOfQuietHours(q, at('2026-03-08T01:30:00-05:00')))).toBe('2026-03-08T03:00:00-04:00');
    expect(ny(outOfQuietHours(q, at('2026-03-08T01:45:00-05:00')))).toBe('2026-03-08T03:00:00-04:00');
    expect(inQuietHours(q, at('2026-03-08T03:00:00-04:00'))).toBe(false);
  });

  it('when quiet hours are 01:30–03:00 on the fall-back night, then the clock turned back to 01:00 ends quiet until it shows 01:30 again', () => {
    const q: QuietHours = { start: '01:30', end: '03:00', timeZone: 'America/New_York' };
    expect(ny(outOfQuietHours(q, at('2026-11-01T01:45:00-04:00')))).toBe('2026-11-01T01:00:00-05:00');
    expect(inQuietHours(q, at('2026-11-01T01:15:00-05:00'))).toBe(false);
    expect(ny(outOfQuietHours(q, at('2026-11-01T01:45:00-05:00')))).toBe('2026-11-01T03:00:00-05:00');
  });

  it('when a time of day is skipped or shown twice, then nextTimeOfDay gives the end of the gap or the next showing', () => {
    expect(ny(nextTimeOfDay('America/New_York', at('2026-03-08T00:00:00-05:00'), '02:30'))).toBe(
      '2026-03-08T03:00:00-04:00',
    );
    expect(ny(nextTimeOfDay('America/New_York', at('2026-11-01T00:00:00-04:00'), '01:30'))).toBe(
      '2026-11-01T01:30:00-04:00',
    );
    expect(ny(nextTimeOfDay('America/New_York', at('2026-11-01T01:10:00-05:00'), '01:30'))).toBe(
      '2026-11-01T01:30:00-05:00',
    );
  });
});

describe('DST at midnight — America/Havana skips midnight on 2026-03-08 and repeats it on 2026-11-01', () => {
  const SUNDAYS: BusinessCalendar = {
    ...NEW_YORK,
    timeZone: 'America/Havana',
    workingDays: [7],
    workingHours: [{ start: '00:00', end: '24:00' }],
  };
  const hav = (ms: number) => shown(ms, 'America/Havana');

  it('when a Sunday starts at 01:00, then its working time starts there and lasts 23 hours', () => {
    const start = nextWorkingStart(SUNDAYS, at('2026-03-07T12:00:00-05:00'));
    expect(hav(start)).toBe('2026-03-08T01:00:00-04:00');
    expect(hav(addWorkingTime(SUNDAYS, start, 23 * HOUR))).toBe('2026-03-09T00:00:00-04:00');
    expect(hav(nextTimeOfDay('America/Havana', at('2026-03-07T12:00:00-05:00'), '00:00'))).toBe(
      '2026-03-08T01:00:00-04:00',
    );
  });

  it('when a Sunday shows midnight twice, then its working time starts at the first and lasts 25 hours', () => {
    const start = nextWorkingStart(SUNDAYS, at('2026-10-31T12:00:00-04:00'));
    expect(hav(start)).toBe('2026-11-01T00:00:00-04:00');
    expect(hav(addWorkingTime(SUNDAYS, start, 25 * HOUR))).toBe('2026-11-02T00:00:00-05:00');
  });

  it('when quiet hours 23:00–00:30 meet the skipped midnight, then they end at 01:00, the first instant after them', () => {
    const q: QuietHours = { start: '23:00', end: '00:30', timeZone: 'America/Havana' };
    expect(hav(outOfQuietHours(q, at('2026-03-07T23:30:00-05:00')))).toBe('2026-03-08T01:00:00-04:00');
  });
});

describe('round the clock', () => {
  it('when time is added round the clock, then working time is elapsed time and a working day is 24 hours', () => {
    const t = at('2026-03-08T06:59:00Z');
    expect(isWorkingTime(ROUND_THE_CLOCK, t)).toBe(true);
    expect(addWorkingTime(ROUND_THE_CLOCK, t, 100 * HOUR + 1)).toBe(t + 100 * HOUR + 1);
    expect(addWorkingDays(ROUND_THE_CLOCK, t, 3)).toBe(t + 3 * DAY);
  });
});

describe('refusals', () => {
  const hours = (...periods: string[]): Partial<BusinessCalendar> => ({
    workingHours: periods.map((p) => ({
      start: p.slice(0, p.indexOf('-')),
      end: p.slice(p.indexOf('-') + 1),
    })),
  });

  it.each<[string, Partial<BusinessCalendar>, string]>([
    ['an unknown zone', { timeZone: 'Mars/Olympus' }, 'timeZone'],
    ['weekday 8', { workingDays: [1, 8] }, 'workingDays[1]'],
    ['weekday 0', { workingDays: [0] }, 'workingDays[0]'],
    ['no working periods', hours(), 'workingHours'],
    ['a time without its leading zero', hours('9:00-12:00'), 'workingHours[0].start'],
    ['24:00 as a start', hours('24:00-24:00'), 'workingHours[0].start'],
    ['an hour 25', hours('09:00-12:00', '13:00-25:00'), 'workingHours[1].end'],
    ['an empty period', hours('09:00-12:00', '13:00-13:00'), 'workingHours[1].end'],
    ['unsorted periods', hours('13:00-18:00', '09:00-12:00'), 'workingHours[1].start'],
    ['overlapping periods', hours('09:00-12:00', '11:00-18:00'), 'workingHours[1].start'],
    ['a date that does not exist', { holidays: ['2026-02-30'] }, 'holidays[0]'],
    ['a date in another format', { holidays: ['2026-10-01', '2026/10/02'] }, 'holidays[1]'],
    ['a workday that is no date', { workdays: ['2026-10-10', 'Saturday'] }, 'workdays[1]'],
    [
      'a date both holiday and workday',
      { holidays: ['2026-10-10'], workdays: ['2026-10-10'] },
      'workdays[0]',
    ],
    ['no working day and no workdays', { workingDays: [], workdays: [] }, 'workingDays'],
  ])('when a calendar has %s, then checkCalendar names %s', (_what, change, field) => {
    expect(() => checkCalendar({ ...SHANGHAI, ...change })).toThrow(refusal(field));
  });

  it('when calendars are sound, then checkCalendar accepts them, one with workdays only among them', () => {
    for (const cal of [SHANGHAI, CHINA, NEW_YORK, NEW_YORK_NIGHTS, ROUND_THE_CLOCK]) checkCalendar(cal);
    checkCalendar({ ...SHANGHAI, workingDays: [], workdays: ['2026-10-10'] });
  });

  it('when a calendar has no working time ahead, then searches stop with a CalendarError instead of looping', () => {
    const once = { ...SHANGHAI, workingDays: [], workdays: ['2025-01-06'] };
    const search = () => nextWorkingStart(once, at('2026-01-01T00:00:00+08:00'));
    expect(search).toThrow(refusal('workingDays'));
    expect(search).toThrow('calendar has no working time within 10 years');
    expect(() => addWorkingDays(once, at('2025-01-01T00:00:00+08:00'), 2)).toThrow(refusal('workingDays'));
    expect(isWorkingTime(once, at('2026-01-01T10:00:00+08:00'))).toBe(false);
  });

  it('when a working duration counts weeks or fractions of days, then addDuration refuses it', () => {
    const t = at('2026-11-20T17:50:00+08:00');
    expect(() => addDuration(SHANGHAI, t, 'P1W', 'working')).toThrow(refusal('duration'));
    expect(() => addDuration(SHANGHAI, t, 'P1.5D', 'calendar')).toThrow(refusal('duration'));
    expect(() => addDuration(SHANGHAI, t, 'P1M', 'calendar')).toThrow(DurationError);
  });

  it('when amounts or times of day are malformed, then the functions name the argument', () => {
    const t = at('2026-11-20T17:50:00+08:00');
    expect(() => addWorkingTime(SHANGHAI, t, -1)).toThrow(refusal('durationMs'));
    expect(() => addWorkingTime(SHANGHAI, t, Number.POSITIVE_INFINITY)).toThrow(refusal('durationMs'));
    expect(() => addWorkingDays(SHANGHAI, t, 1.5)).toThrow(refusal('days'));
    expect(() => isWorkingDay(SHANGHAI, '2026-13-01')).toThrow(refusal('localDate'));
    expect(() => nextTimeOfDay('Asia/Shanghai', t, '7:30')).toThrow(refusal('hhmm'));
    expect(() => nextTimeOfDay('Nowhere', t, '07:30')).toThrow(refusal('timeZone'));
  });

  it.each<[Partial<QuietHours>, string]>([
    [{ timeZone: 'Asia/Beijing' }, 'timeZone'],
    [{ start: '22:60' }, 'start'],
    [{ end: '24:00' }, 'end'],
  ])('when quiet hours have %o, then checkQuietHours names %s', (change, field) => {
    const q = { start: '22:00', end: '07:30', timeZone: 'Asia/Shanghai', ...change };
    expect(() => checkQuietHours(q)).toThrow(refusal(field));
  });
});

// Properties: random calendars in zones with and without DST, at instants from 2025 to 2027, often near a DST change.

const ZONES = ['America/New_York', 'Europe/London', 'Australia/Sydney', 'Asia/Shanghai', 'UTC'];
const RANGE = { min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2028-01-01T00:00:00Z') };

/** The UTC days in the range across which the zone's offset changes. */
function offsetChanges(zone: string): number[] {
  const offset = (t: number) => DateTime.fromMillis(t, { zone }).offset;
  const days: number[] = [];
  for (let t = RANGE.min; t < RANGE.max; t += DAY) if (offset(t) !== offset(t + DAY)) days.push(t);
  return days;
}

const OFFSET_CHANGES = new Map(ZONES.map((zone) => [zone, offsetChanges(zone)]));

/** An instant in the range or within four days of a DST change, on one of the grids. */
function instantIn(zone: string, grids: number[]): fc.Arbitrary<number> {
  const changes = OFFSET_CHANGES.get(zone) ?? [];
  const near = changes.length
    ? [fc.constantFrom(...changes).chain((c) => fc.integer({ min: c - 4 * DAY, max: c + 4 * DAY }))]
    : [];
  return fc
    .tuple(fc.oneof(fc.integer(RANGE), ...near), fc.constantFrom(...grids))
    .map(([t, grid]) => t - (t % grid));
}

function clockTime(quarters: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(quarters / 4))}:${pad((quarters % 4) * 15)}`;
}

/** 1–3 sorted periods on quarter hours; the day's last quarter boundary is '24:00'. */
const periodsArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 96 }), { minLength: 2, maxLength: 6 })
  .map((bounds) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    return Array.from({ length: Math.floor(sorted.length / 2) }, (_, i) => ({
      start: clockTime(sorted[2 * i]!),
      end: clockTime(sorted[2 * i + 1]!),
    }));
  });

const calendarParts = fc.record({
  workingDays: fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 }),
  workingHours: periodsArb,
  holidays: fc.uniqueArray(fc.integer({ min: -2, max: 30 }), { maxLength: 8 }),
  workdays: fc.uniqueArray(fc.integer({ min: -2, max: 30 }), { maxLength: 3 }),
});

/** A random calendar and an instant; its holidays and workdays fall within a month of the instant. */
function scenario(grids = [1, MINUTE, QUARTER]): fc.Arbitrary<{ cal: BusinessCalendar; t: number }> {
  return fc.constantFrom(...ZONES).chain((zone) =>
    fc.record({ t: instantIn(zone, grids), parts: calendarParts }).map(({ t, parts }) => {
      const dateAfter = (days: number) => DateTime.fromMillis(t, { zone }).plus({ days }).toISODate() ?? '';
      const cal: BusinessCalendar = {
        timeZone: zone,
        workingDays: parts.workingDays,
        workingHours: parts.workingHours,
        holidays: parts.holidays.map(dateAfter),
        workdays: parts.workdays.filter((d) => !parts.holidays.includes(d)).map(dateAfter),
      };
      return { cal, t };
    }),
  );
}

const durationArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 60 * HOUR }),
  fc.integer({ min: 0, max: 240 }).map((n) => n * QUARTER),
);

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** The calendar read straight off the wall clock, independently of the module under test. */
function workingByWallClock(cal: BusinessCalendar, t: number): boolean {
  const local = DateTime.fromMillis(t, { zone: cal.timeZone });
  const date = local.toISODate() ?? '';
  const workingDay =
    cal.workdays.includes(date) || (!cal.holidays.includes(date) && cal.workingDays.includes(local.weekday));
  const minute = local.hour * 60 + local.minute;
  return (
    workingDay && cal.workingHours.some((p) => toMinutes(p.start) <= minute && minute < toMinutes(p.end))
  );
}

function workingMinutesBetween(cal: BusinessCalendar, from: number, to: number): number {
  let count = 0;
  for (let t = from; t < to; t += MINUTE) if (workingByWallClock(cal, t)) count += 1;
  return count;
}

describe('business calendar — properties', () => {
  it('random calendars pass checkCalendar', () => {
    fc.assert(
      fc.property(scenario(), ({ cal }) => checkCalendar(cal)),
      { numRuns: 1000 },
    );
  });

  it('isWorkingTime agrees with the wall clock: workdays over holidays over weekdays, then the periods', () => {
    fc.assert(
      fc.property(scenario([MINUTE]), ({ cal, t }) => {
        expect(isWorkingTime(cal, t)).toBe(workingByWallClock(cal, t));
      }),
      { numRuns: 1000 },
    );
  });

  it('isWorkingDay: a workday is working, else a holiday is not, else the weekday decides', () => {
    fc.assert(
      fc.property(scenario(), fc.integer({ min: -3, max: 31 }), ({ cal, t }, days) => {
        const local = DateTime.fromMillis(t, { zone: cal.timeZone }).plus({ days });
        const date = local.toISODate() ?? '';
        const expected =
          cal.workdays.includes(date) ||
          (!cal.holidays.includes(date) && cal.workingDays.includes(local.weekday));
        expect(isWorkingDay(cal, date)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('nextWorkingStart is working time, not before t, and t itself when t is working', () => {
    fc.assert(
      fc.property(scenario(), ({ cal, t }) => {
        const start = nextWorkingStart(cal, t);
        expect(isWorkingTime(cal, start)).toBe(true);
        expect(start).toBeGreaterThanOrEqual(t);
        if (isWorkingTime(cal, t)) expect(start).toBe(t);
      }),
      { numRuns: 1000 },
    );
  });

  it('addWorkingTime lands on working time or exactly on a period end, at least durationMs after t', () => {
    fc.assert(
      fc.property(scenario(), durationArb, ({ cal, t }, d) => {
        const end = addWorkingTime(cal, t, d);
        expect(end - t).toBeGreaterThanOrEqual(d);
        expect(isWorkingTime(cal, end) || isWorkingTime(cal, end - 1)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('addWorkingTime is additive: adding a then b is adding a + b, also from a period end and for 0', () => {
    fc.assert(
      fc.property(scenario(), durationArb, durationArb, ({ cal, t }, a, b) => {
        expect(addWorkingTime(cal, addWorkingTime(cal, t, a), b)).toBe(addWorkingTime(cal, t, a + b));
      }),
      { numRuns: 1000 },
    );
  });

  it('the working minutes between t and addWorkingTime(t, d), counted one by one on the wall clock, are d', () => {
    fc.assert(
      fc.property(scenario([MINUTE, QUARTER]), fc.integer({ min: 0, max: 120 }), ({ cal, t }, minutes) => {
        const end = addWorkingTime(cal, t, minutes * MINUTE);
        fc.pre(end - t <= 3 * DAY);
        expect(workingMinutesBetween(cal, t, end)).toBe(minutes);
        // The last minute counted is working time, so no earlier instant would have done.
        if (minutes > 0) expect(workingByWallClock(cal, end - MINUTE)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('round the clock, working time is elapsed time', () => {
    fc.assert(
      fc.property(fc.integer(RANGE), durationArb, (t, d) => {
        expect(addWorkingTime(ROUND_THE_CLOCK, t, d)).toBe(t + d);
      }),
      { numRuns: 1000 },
    );
  });
});

const quietArb = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    start: fc.integer({ min: 0, max: 95 }).map(clockTime),
    end: fc.integer({ min: 0, max: 95 }).map(clockTime),
  })
  .chain((q) => fc.record({ q: fc.constant(q), t: instantIn(q.timeZone, [1, MINUTE, QUARTER]) }));

describe('quiet hours — properties', () => {
  it('outOfQuietHours is not quiet, not before t, t itself when t is not quiet, and quiet just before when later', () => {
    fc.assert(
      fc.property(quietArb, ({ q, t }) => {
        const allowed = outOfQuietHours(q, t);
        expect(inQuietHours(q, allowed)).toBe(false);
        expect(allowed).toBeGreaterThanOrEqual(t);
        if (!inQuietHours(q, t)) expect(allowed).toBe(t);
        if (allowed > t) expect(inQuietHours(q, allowed - 1)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('nextTimeOfDay shows hhmm, or ends the gap that skipped it, and no earlier instant from ms shows hhmm', () => {
    const arb = fc.record({
      zone: fc.constantFrom(...ZONES),
      minute: fc.integer({ min: 0, max: 1439 }),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(arb, ({ zone, minute, pick }) => {
        const changes = OFFSET_CHANGES.get(zone) ?? [];
        const base = changes.length ? changes[pick % changes.length]! : RANGE.min + (pick % 1000) * DAY;
        const t = base + (pick % (3 * DAY));
        const hhmm = `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
        const found = nextTimeOfDay(zone, t, hhmm);
        const wall = (ms: number) => {
          const local = DateTime.fromMillis(ms, { zone });
          return local.hour * 60 + local.minute + local.second / 60 + local.millisecond / MINUTE;
        };
        expect(found).toBeGreaterThanOrEqual(t);
        if (wall(found) !== minute) {
          // Skipped by a gap: the clock jumps from before hhmm to after it at `found`.
          expect(wall(found - 1) < minute && minute < wall(found)).toBe(true);
        }
        // Every zone here is a whole number of hours from UTC, so hh:mm can only show at minute mm of a UTC hour.
        for (let h = Math.floor((found - 26 * HOUR) / HOUR); h * HOUR < found; h += 1) {
          const candidate = h * HOUR + (minute % 60) * MINUTE;
          if (candidate >= t && candidate < found) expect(wall(candidate)).not.toBe(minute);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
