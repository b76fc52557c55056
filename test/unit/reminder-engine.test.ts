import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  addDuration,
  type BusinessCalendar,
  checkCalendar,
  inQuietHours,
  isWorkingTime,
  outOfQuietHours,
  type QuietHours,
} from '../../src/domain/calendar.js';
import {
  afterNotice,
  type EngineInput,
  NOTHING_SENT,
  type Planned,
  planNotice,
  previewSchedule,
} from '../../src/domain/planner.js';
import { type LadderTarget, parseSchedule, type ReminderRule } from '../../src/domain/schedule.js';
import { SHANGHAI_OFFICE } from '../support/calendars.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SHANGHAI = 'Asia/Shanghai';
const ZONES = [SHANGHAI, 'America/New_York', 'Europe/London', 'UTC'];
/** The notices each property looks at per generated case. */
const PREVIEW = 12;

type Preview = Parameters<typeof previewSchedule>[0];

interface Case {
  rule: ReminderRule;
  calendar: BusinessCalendar;
  quiet: QuietHours | null;
  assignedAt: number;
  dueAt: number | null;
}

const inputOf = (c: Case, acknowledgedAt: number | null = null): Preview => ({
  schedule: parseSchedule(c.rule),
  context: { calendar: c.calendar, quiet: c.quiet },
  assignedAt: c.assignedAt,
  dueAt: c.dueAt,
  acknowledgedAt,
});

const preview = (c: Case, count = PREVIEW, acknowledgedAt: number | null = null): Planned[] =>
  previewSchedule(inputOf(c, acknowledgedAt), count);

const shanghai = (iso: string) => DateTime.fromISO(iso, { zone: SHANGHAI }).toMillis();
const iso = (t: number) => DateTime.fromMillis(t, { zone: SHANGHAI }).toISO({ suppressMilliseconds: true });
const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const streamOf = (n: Planned) => (n.kind === 'escalation' ? `escalation ${n.level}` : n.kind);

// ---------------------------------------------------------------------------------------------
// Generators

/** DST changes in 2025–2027: New York, then London. */
const DST_CHANGES = [
  ['America/New_York', ['2025-03-09', '2025-11-02', '2026-03-08', '2026-11-01', '2027-03-14', '2027-11-07']],
  ['Europe/London', ['2025-03-30', '2025-10-26', '2026-03-29', '2026-10-25', '2027-03-28', '2027-10-31']],
] as const;
const dstChangeArb = fc.constantFrom(
  ...DST_CHANGES.flatMap(([zone, dates]) =>
    dates.map((date) => ({ zone, at: DateTime.fromISO(date, { zone }).toMillis() })),
  ),
);

const instantArb = fc.oneof(
  fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2027-12-31T00:00:00Z') }),
  fc
    .tuple(dstChangeArb, fc.integer({ min: -5 * DAY, max: 5 * DAY }))
    .map(([change, offset]) => change.at + offset),
);

const WORKING_HOURS = [
  [{ start: '09:00', end: '18:00' }],
  [
    { start: '09:00', end: '12:00' },
    { start: '13:00', end: '18:00' },
  ],
  [
    { start: '08:30', end: '12:00' },
    { start: '13:30', end: '17:30' },
  ],
  [{ start: '00:00', end: '24:00' }],
  // Night shifts that DST gaps and repeats cut into.
  [
    { start: '00:00', end: '02:30' },
    { start: '20:00', end: '24:00' },
  ],
];

/** Holidays and workdays fall within weeks of the assignment, where they matter. */
function calendarArb(around: number) {
  const dateNear = fc
    .integer({ min: -3, max: 40 })
    .map((d) => DateTime.fromMillis(around + d * DAY).toISODate()!);
  return fc
    .record({
      timeZone: fc.constantFrom(...ZONES),
      // Mostly the usual weeks, sometimes any set of days.
      workingDays: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom<number[]>([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7]),
        },
        { weight: 1, arbitrary: fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 }) },
      ),
      workingHours: fc.constantFrom(...WORKING_HOURS),
      holidays: fc.uniqueArray(dateNear, { maxLength: 8 }),
      workdays: fc.uniqueArray(dateNear, { maxLength: 3 }),
    })
    .map((cal): BusinessCalendar => {
      const c = { ...cal, workdays: cal.workdays.filter((d) => !cal.holidays.includes(d)) };
      checkCalendar(c);
      return c;
    });
}

const clockTimeArb = fc.integer({ min: 0, max: 287 }).map((i) => hhmm(i * 5));

const quietArb: fc.Arbitrary<QuietHours | null> = fc.option(
  fc.record({
    start: fc.integer({ min: 0, max: 95 }).map((i) => hhmm(i * 15)),
    end: fc.integer({ min: 0, max: 95 }).map((i) => hhmm(i * 15)),
    timeZone: fc.constantFrom(...ZONES),
  }),
  { nil: null },
);

/** Durations with distinct lengths (as parseSchedule orders them), mixing days and hours on purpose. */
const AFTERS = [
  'PT30M',
  'PT1H',
  'PT4H',
  'PT8H',
  'PT10H',
  'PT23H30M',
  'P1D',
  'PT24H30M',
  'P1DT4H',
  'PT30H',
  'P2D',
  'P3D',
];
const CRONS = [
  '0 9 * * 1-5',
  '*/30 * * * *',
  '15 8-18 * * *',
  '0 */4 * * *',
  '30 2 * * *',
  '30 1 * * 0',
  '0 9 1 * *',
  '45 23 * * 5,6',
];
const TARGETS: LadderTarget[] = ['handler', 'supervisor', { group: 'risk' }, { handler: 'h-2' }];

const levelArb = (minCount: number) =>
  fc.record(
    {
      to: fc.constantFrom(...TARGETS),
      every: fc.constantFrom('PT30M', 'PT2H', 'P1D'),
      maxCount: fc.integer({ min: minCount, max: 4 }),
      channels: fc.constantFrom<string[]>(['im'], ['email', 'im']),
    },
    { requiredKeys: ['to'] },
  );

const ladderArb = (minCount: number, minLength: number) =>
  fc
    .tuple(
      fc.subarray(AFTERS, { minLength, maxLength: 4 }),
      fc.array(levelArb(minCount), { minLength: 4, maxLength: 4 }),
    )
    .map(([afters, levels]) => afters.map((after, i) => ({ after, ...levels[i]! })));

function ruleArb(opts: { clock?: 'calendar' | 'working'; reminders?: number; ladder?: 'some' } = {}) {
  return fc
    .record({
      clock: opts.clock ? fc.constant(opts.clock) : fc.constantFrom('calendar' as const, 'working' as const),
      repeat: fc.oneof(
        fc
          .constantFrom('PT5M', 'PT17M', 'PT1H', 'PT90M', 'PT4H', 'PT12H', 'PT24H', 'P1D', 'P2D', 'P1DT2H')
          .map((every) => ({ every })),
        fc.uniqueArray(clockTimeArb, { minLength: 1, maxLength: 4 }).map((timesOfDay) => ({ timesOfDay })),
        fc.constantFrom(...CRONS).map((cron) => ({ cron })),
      ),
      first: fc.oneof(
        fc.constant({}),
        fc.constantFrom('PT10M', 'PT1H', 'PT3H', 'P1D').map((firstAfter) => ({ firstAfter })),
        clockTimeArb.map((firstAt) => ({ firstAt })),
      ),
      maxCount:
        opts.reminders === undefined
          ? fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined })
          : fc.integer({ min: 0, max: opts.reminders }),
      // P1D against PT23H30M and PT24H: a calendar day before is 23 or 25 hours across a DST change.
      beforeDue: fc.subarray(['P2D', 'PT24H', 'P1D', 'PT23H30M', 'PT12H', 'PT2H', 'PT30M', 'PT1M']),
      escalation:
        opts.ladder === 'some'
          ? ladderArb(1, 1).map((ladder) => ({ ladder }))
          : fc.oneof(
              { weight: 4, arbitrary: ladderArb(0, 0).map((ladder) => ({ ladder })) },
              {
                weight: 1,
                arbitrary: fc.constantFrom(...AFTERS).map((escalateAfter) => ({ escalateAfter })),
              },
            ),
      urgent: fc.boolean(),
    })
    .map(
      ({ clock, repeat, first, maxCount, beforeDue, escalation, urgent }): ReminderRule => ({
        clock,
        ...repeat,
        ...first,
        ...(maxCount === undefined ? {} : { maxCount }),
        beforeDue,
        ...escalation,
        urgent,
      }),
    );
}

function caseArb(rule: fc.Arbitrary<ReminderRule> = ruleArb()): fc.Arbitrary<Case> {
  return instantArb.chain((assignedAt) =>
    fc.record({
      rule,
      calendar: calendarArb(assignedAt),
      quiet: quietArb,
      assignedAt: fc.constant(assignedAt),
      dueAt: fc.option(
        fc.integer({ min: -3 * DAY, max: 10 * DAY }).map((d) => assignedAt + d),
        { nil: null },
      ),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Properties

describe('reminder engine — properties', () => {
  const RUNS_QUIET = 2000;
  it(`1. no notice falls in quiet hours unless the rule is urgent; quiet hours are all that moves a slot, and slots fold only where a quiet spell ends (${RUNS_QUIET} cases)`, () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        for (const n of preview(c)) {
          // Nothing runs late in a preview, so slots fold together only where a quiet spell ends.
          if (c.quiet === null || c.rule.urgent) {
            expect(n.at).toBe(n.slot);
            expect(n.skipped).toBe(0);
          } else {
            expect(inQuietHours(c.quiet, n.at)).toBe(false);
            expect(n.at).toBe(outOfQuietHours(c.quiet, n.slot));
            if (n.skipped > 0) expect(inQuietHours(c.quiet, n.at - 1)).toBe(true);
          }
        }
      }),
      { numRuns: RUNS_QUIET },
    );
  });

  const RUNS_ORDER = 2000;
  it(`2. times strictly increase within each stream and never decrease overall (${RUNS_ORDER} cases)`, () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        const notices = preview(c);
        const last = new Map<string, Planned>();
        for (const [i, n] of notices.entries()) {
          if (i > 0) expect(n.at).toBeGreaterThanOrEqual(notices[i - 1]!.at);
          const before = last.get(streamOf(n));
          if (before) {
            expect(n.at).toBeGreaterThan(before.at);
            expect(n.slot).toBeGreaterThan(before.slot);
            expect(n.index).toBe(before.index + 1 + n.skipped);
          }
          last.set(streamOf(n), n);
        }
      }),
      { numRuns: RUNS_ORDER },
    );
  });

  const RUNS_BEFORE_DUE = 2000;
  it(`3. before-due slots lie between assignment and due, each accounted for once; they go out by the due time unless quiet hours hold them (${RUNS_BEFORE_DUE} cases)`, () => {
    fc.assert(
      fc.property(
        caseArb(ruleArb({ reminders: 8 })).filter(
          (c) => c.dueAt !== null && (c.rule.beforeDue?.length ?? 0) > 0,
        ),
        (c) => {
          const due = c.dueAt!;
          const all = preview(c, 60);
          const notices = all.filter((p) => p.kind === 'beforeDue');
          for (const n of notices) {
            expect(n.slot).toBeLessThan(due);
            expect(n.slot).toBeGreaterThanOrEqual(c.assignedAt);
            // Held by quiet hours it may go out after the due time; otherwise it goes out on its slot.
            if (n.at > due) expect(n.at).not.toBe(n.slot);
          }
          if (all.length === 60) return;
          // "P1D before" is a calendar day in the calendar's zone: 23 or 25 hours across a DST change.
          const slots = parseSchedule(c.rule).beforeDue.map(
            ({ days, ms }) =>
              DateTime.fromMillis(due, { zone: c.calendar.timeZone }).minus({ days }).toMillis() - ms,
          );
          const live = new Set(slots.filter((t) => t >= c.assignedAt));
          expect(notices.reduce((sum, n) => sum + 1 + n.skipped, 0)).toBe(live.size);
        },
      ),
      { numRuns: RUNS_BEFORE_DUE },
    );
  });

  const RUNS_LEVELS = 2000;
  it(`4. escalation levels never go down (${RUNS_LEVELS} cases)`, () => {
    fc.assert(
      // Few enough reminders that the ladder shows among the notices looked at.
      fc.property(caseArb(ruleArb({ reminders: 8, ladder: 'some' })), (c) => {
        const levels = preview(c).flatMap((n) => (n.kind === 'escalation' ? [n.level] : []));
        for (let i = 1; i < levels.length; i++) expect(levels[i]).toBeGreaterThanOrEqual(levels[i - 1]!);
      }),
      { numRuns: RUNS_LEVELS },
    );
  });

  const RUNS_PURE = 2000;
  it(`5. the same input gives the same notices, and the input is left as it was (${RUNS_PURE} cases)`, () => {
    fc.assert(
      fc.property(caseArb(), fc.option(instantArb, { nil: null }), fc.nat(), (c, ack, pick) => {
        const input = inputOf(c, ack);
        const before = structuredClone(input);
        const notices = previewSchedule(input, 8);
        expect(previewSchedule(input, 8)).toEqual(notices);
        expect(input).toEqual(before);
        // The workflow asks planNotice one notice at a time, with what went out so far: it must agree.
        const k = pick % (notices.length + 1);
        const progress = notices.slice(0, k).reduce(afterNotice, { ...NOTHING_SENT, acknowledgedAt: ack });
        const now = k === 0 ? c.assignedAt : notices[k - 1]!.at;
        const engineInput: EngineInput = { ...input, ...progress, now };
        const frozen = structuredClone(engineInput);
        const expected = k < notices.length ? notices[k] : notices.length < 8 ? null : planNotice(frozen);
        expect(planNotice(engineInput)).toEqual(expected);
        expect(engineInput).toEqual(frozen);
      }),
      { numRuns: RUNS_PURE },
    );
  });

  const RUNS_DST = 2000;
  it(`6. across DST changes in New York and London: P1D keeps the wall-clock time, 09:00 stays 09:00, nothing throws (${RUNS_DST} cases)`, () => {
    const calendarOf = (zone: string): BusinessCalendar => ({
      timeZone: zone,
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      workingHours: [{ start: '00:00', end: '24:00' }],
      holidays: [],
      workdays: [],
    });
    fc.assert(
      fc.property(
        dstChangeArb,
        // Early enough that the first 09:00 and the first daily slot come before the change.
        fc.integer({ min: -5 * DAY, max: -DAY }),
        caseArb(),
        ({ zone, at: change }, before, anyCase) => {
          const assignedAt = change + before;
          const c = { rule: {}, calendar: calendarOf(zone), quiet: null, assignedAt, dueAt: null };
          const local = (t: number) => DateTime.fromMillis(t, { zone });
          const daily = preview({ ...c, rule: { every: 'P1D' } }, 8);
          expect(daily).toHaveLength(8);
          const wallOf = (t: DateTime) => t.toFormat('HH:mm:ss.SSS');
          const sinceMidnight = (t: DateTime) =>
            ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + t.millisecond;
          const assigned = local(assignedAt);
          for (const [i, n] of daily.entries()) {
            const shown = local(n.slot);
            expect(shown.toISODate()).toBe(assigned.plus({ days: i + 1 }).toISODate());
            // A time that the spring-forward gap skips shows as the hour after it, on that day only.
            const skipped =
              wallOf(DateTime.fromISO(`${shown.toISODate()}T${wallOf(assigned)}`, { zone })) !==
              wallOf(assigned);
            expect(sinceMidnight(shown)).toBe(sinceMidnight(assigned) + (skipped ? HOUR : 0));
          }
          const nine = preview({ ...c, rule: { timesOfDay: ['09:00'] } }, 8);
          expect(nine.map((n) => local(n.at).toFormat('HH:mm'))).toEqual(Array(8).fill('09:00'));
          expect(new Set(nine.map((n) => local(n.at).offset)).size).toBe(2);
          const anywhere = { ...anyCase, assignedAt, calendar: { ...anyCase.calendar, timeZone: zone } };
          expect(() => preview(anywhere, 8)).not.toThrow();
        },
      ),
      { numRuns: RUNS_DST },
    );
  });

  const RUNS_ACK = 2000;
  it(`7. acknowledgement: no level starting after it appears; every level up to the one current at it does (${RUNS_ACK} cases)`, () => {
    fc.assert(
      fc.property(
        caseArb(ruleArb({ reminders: 3, ladder: 'some' })),
        fc.nat(),
        fc.integer({ min: 0, max: 3 * DAY }),
        fc.boolean(),
        (c, pick, offset, before) => {
          const s = parseSchedule(c.rule);
          const from = c.dueAt === null ? c.assignedAt : Math.max(c.dueAt, c.assignedAt);
          const own = (c.rule.ladder ?? []).map((level) =>
            addDuration(c.calendar, from, level.after, s.clock),
          );
          // A level is reached when it or any higher one is: days and hours need not compare as their order says.
          const starts = own.map((_, l) => Math.min(...own.slice(l)));
          const k = pick % starts.length;
          const ack = before ? starts[k]! - 1 - offset : starts[k]! + offset;
          const notices = preview(c, 100, ack);
          expect(notices.length).toBeLessThan(100);
          const levels = new Set(notices.flatMap((n) => (n.kind === 'escalation' ? [n.level] : [])));
          const current = starts.filter((start) => start <= ack).length - 1;
          for (const level of levels) expect(level).toBeLessThanOrEqual(current);
          if (before) for (const level of levels) expect(level).toBeLessThan(k);
          for (let l = 0; l <= current; l++) {
            // A level that the next is reached with is passed over.
            expect(levels.has(l)).toBe(l === current || starts[l]! < starts[l + 1]!);
          }
          for (const n of notices) {
            if (n.kind === 'escalation' && n.level < current)
              expect(n.slot).toBeLessThan(starts[n.level + 1]!);
          }
        },
      ),
      { numRuns: RUNS_ACK },
    );
  });

  const RUNS_WORKING = 2000;
  it(`8. on the working clock every reminder slot is working time or the end of a working period (${RUNS_WORKING} cases)`, () => {
    fc.assert(
      fc.property(caseArb(ruleArb({ clock: 'working' })), (c) => {
        for (const n of preview(c).filter((p) => p.kind === 'reminder')) {
          const periodEnd = !isWorkingTime(c.calendar, n.slot) && isWorkingTime(c.calendar, n.slot - 1);
          expect(isWorkingTime(c.calendar, n.slot) || periodEnd).toBe(true);
        }
      }),
      { numRuns: RUNS_WORKING },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Exact times

/** Mon–Fri 09:00–12:00 and 13:00–18:00 in Shanghai. */
const OFFICE: BusinessCalendar = SHANGHAI_OFFICE;
const ANY_TIME: BusinessCalendar = {
  ...OFFICE,
  workingDays: [1, 2, 3, 4, 5, 6, 7],
  workingHours: [{ start: '00:00', end: '24:00' }],
};
const NIGHT: QuietHours = { start: '22:00', end: '08:00', timeZone: SHANGHAI };

interface Shown {
  kind: Planned['kind'];
  at: string;
  level?: number;
  skipped?: number;
}

/** The notices in Shanghai time, with the level of an escalation and what a notice folded in when it did. */
function shown(
  rule: ReminderRule,
  calendar: BusinessCalendar,
  assigned: string,
  due: string | null,
  count: number,
  quiet: QuietHours | null = null,
): Shown[] {
  const c: Case = {
    rule,
    calendar,
    quiet,
    assignedAt: shanghai(assigned),
    dueAt: due === null ? null : shanghai(due),
  };
  return preview(c, count).map((n) => ({
    kind: n.kind,
    at: iso(n.at)!,
    ...(n.kind === 'escalation' ? { level: n.level } : {}),
    ...(n.skipped ? { skipped: n.skipped } : {}),
  }));
}

const reminder = (at: string, skipped?: number): Shown => ({
  kind: 'reminder',
  at,
  ...(skipped ? { skipped } : {}),
});
const escalation = (level: number, at: string): Shown => ({ kind: 'escalation', at, level });
const beforeDue = (at: string): Shown => ({ kind: 'beforeDue', at });

describe('reminder engine — exact times (Asia/Shanghai)', () => {
  it('working clock: every PT4H from Friday 17:50 reminds Mon 13:50, Mon 17:50, Tue 13:50…; P1D after a Monday 18:00 due time escalates Wednesday 09:00', () => {
    // 10 minutes on Friday, 3 hours Monday morning, 50 minutes after lunch: Monday 13:50.
    // The ladder counts from the due time, Monday 18:00: the end of a working period, which is not working
    // time. addWorkingDays (calendar.ts) starts from where working time resumes, Tuesday 09:00, and takes
    // the same wall-clock time one working day on: Wednesday 09:00, not Tuesday 18:00.
    expect(
      shown(
        { clock: 'working', every: 'PT4H', ladder: [{ after: 'P1D', to: 'supervisor' }] },
        OFFICE,
        '2026-11-20T17:50',
        '2026-11-23T18:00',
        7,
      ),
    ).toEqual([
      reminder('2026-11-23T13:50:00+08:00'),
      reminder('2026-11-23T17:50:00+08:00'),
      reminder('2026-11-24T13:50:00+08:00'),
      reminder('2026-11-24T17:50:00+08:00'),
      escalation(0, '2026-11-25T09:00:00+08:00'),
      reminder('2026-11-25T13:50:00+08:00'),
      reminder('2026-11-25T17:50:00+08:00'),
    ]);
  });

  describe('holidays and adjusted working days (2026 National Day: 1–7 October off, Saturday 10 October worked)', () => {
    const NATIONAL_DAY: BusinessCalendar = {
      ...OFFICE,
      holidays: [
        '2026-10-01',
        '2026-10-02',
        '2026-10-03',
        '2026-10-04',
        '2026-10-05',
        '2026-10-06',
        '2026-10-07',
      ],
      workdays: ['2026-09-20', '2026-10-10'],
    };

    it('the working Saturday counts as a working day', () => {
      expect(shown({ clock: 'working', every: 'PT4H' }, NATIONAL_DAY, '2026-10-09T16:00', null, 3)).toEqual([
        reminder('2026-10-10T11:00:00+08:00'),
        reminder('2026-10-10T16:00:00+08:00'),
        reminder('2026-10-12T11:00:00+08:00'),
      ]);
      expect(shown({ clock: 'working', every: 'P1D' }, NATIONAL_DAY, '2026-10-09T10:00', null, 2)).toEqual([
        reminder('2026-10-10T10:00:00+08:00'),
        reminder('2026-10-12T10:00:00+08:00'),
      ]);
    });

    it('the holidays are passed over', () => {
      expect(shown({ clock: 'working', every: 'PT4H' }, NATIONAL_DAY, '2026-09-30T16:00', null, 2)).toEqual([
        reminder('2026-10-08T11:00:00+08:00'),
        reminder('2026-10-08T16:00:00+08:00'),
      ]);
    });
  });

  it('working clock: one working day (P1D) is not 24 working hours (PT24H)', () => {
    const oneDay = shown(
      { clock: 'working', every: 'P1D', maxCount: 1 },
      OFFICE,
      '2026-11-23T10:00',
      null,
      2,
    );
    // Eight working hours a day: 7 left on Monday, 8 on Tuesday, 8 on Wednesday, the last one Thursday.
    const hours = shown(
      { clock: 'working', every: 'PT24H', maxCount: 1 },
      OFFICE,
      '2026-11-23T10:00',
      null,
      2,
    );
    expect(oneDay).toEqual([reminder('2026-11-24T10:00:00+08:00')]);
    expect(hours).toEqual([reminder('2026-11-26T10:00:00+08:00')]);
    expect(oneDay[0]!.at).not.toBe(hours[0]!.at);
  });

  it('quiet hours 22:00–08:00: every PT1H from 20:30 reminds 21:30, then once at 08:00 for the night, then 08:30', () => {
    expect(shown({ every: 'PT1H' }, ANY_TIME, '2026-11-20T20:30', null, 4, NIGHT)).toEqual([
      reminder('2026-11-20T21:30:00+08:00'),
      // The slots 22:30 … 07:30 fold into one: ten slots, nine skipped.
      reminder('2026-11-21T08:00:00+08:00', 9),
      reminder('2026-11-21T08:30:00+08:00'),
      reminder('2026-11-21T09:30:00+08:00'),
    ]);
  });

  it('quiet hours 22:00–08:00: an urgent rule goes out at 22:30 all the same', () => {
    expect(shown({ every: 'PT1H', urgent: true }, ANY_TIME, '2026-11-20T20:30', null, 3, NIGHT)).toEqual([
      reminder('2026-11-20T21:30:00+08:00'),
      reminder('2026-11-20T22:30:00+08:00'),
      reminder('2026-11-20T23:30:00+08:00'),
    ]);
  });

  it('a ladder handler → supervisor → group risk: each level at its own cadence and count; level 0 stops when level 1 starts', () => {
    const rule: ReminderRule = {
      every: 'PT4H',
      maxCount: 0,
      ladder: [
        { after: 'PT1H', to: 'handler', every: 'PT30M', maxCount: 10 },
        { after: 'PT3H', to: 'supervisor', every: 'PT1H', maxCount: 2 },
        { after: 'P1D', to: { group: 'risk' }, every: 'PT4H', maxCount: 2 },
      ],
    };
    // From the due time 10:00: level 0 at 11:00 every half hour until level 1 takes over at 13:00.
    expect(shown(rule, OFFICE, '2026-11-23T09:00', '2026-11-23T10:00', 20)).toEqual([
      escalation(0, '2026-11-23T11:00:00+08:00'),
      escalation(0, '2026-11-23T11:30:00+08:00'),
      escalation(0, '2026-11-23T12:00:00+08:00'),
      escalation(0, '2026-11-23T12:30:00+08:00'),
      escalation(1, '2026-11-23T13:00:00+08:00'),
      escalation(1, '2026-11-23T14:00:00+08:00'),
      escalation(2, '2026-11-24T10:00:00+08:00'),
      escalation(2, '2026-11-24T14:00:00+08:00'),
    ]);
  });

  it("cron '0 9 * * 1-5' from Friday 10:00 fires Monday 09:00, then Tuesday 09:00", () => {
    expect(shown({ cron: '0 9 * * 1-5' }, ANY_TIME, '2026-11-20T10:00', null, 2)).toEqual([
      reminder('2026-11-23T09:00:00+08:00'),
      reminder('2026-11-24T09:00:00+08:00'),
    ]);
  });

  it('timesOfDay 09:00 and 15:00 on the working clock pass over the weekend', () => {
    expect(
      shown({ clock: 'working', timesOfDay: ['09:00', '15:00'] }, OFFICE, '2026-11-20T10:00', null, 4),
    ).toEqual([
      reminder('2026-11-20T15:00:00+08:00'),
      reminder('2026-11-23T09:00:00+08:00'),
      reminder('2026-11-23T15:00:00+08:00'),
      reminder('2026-11-24T09:00:00+08:00'),
    ]);
  });

  it('timesOfDay on the working clock: a time outside working hours waits for work to resume', () => {
    expect(
      shown({ clock: 'working', timesOfDay: ['08:00', '12:30'] }, OFFICE, '2026-11-23T07:00', null, 3),
    ).toEqual([
      reminder('2026-11-23T09:00:00+08:00'),
      reminder('2026-11-23T13:00:00+08:00'),
      reminder('2026-11-24T09:00:00+08:00'),
    ]);
  });

  it('beforeDue P1D and PT2H with due Wednesday 17:00 remind Tuesday 17:00 and Wednesday 15:00', () => {
    const rule: ReminderRule = { every: 'PT1H', maxCount: 0, beforeDue: ['P1D', 'PT2H'] };
    expect(shown(rule, OFFICE, '2026-11-23T09:00', '2026-11-25T17:00', 5)).toEqual([
      beforeDue('2026-11-24T17:00:00+08:00'),
      beforeDue('2026-11-25T15:00:00+08:00'),
    ]);
  });

  it('beforeDue: an offset before the assignment is dropped', () => {
    const rule: ReminderRule = { every: 'PT1H', maxCount: 0, beforeDue: ['P1D', 'PT2H'] };
    expect(shown(rule, OFFICE, '2026-11-24T18:00', '2026-11-25T17:00', 5)).toEqual([
      beforeDue('2026-11-25T15:00:00+08:00'),
    ]);
  });

  it('beforeDue: offsets landing on the same instant (P1D, PT24H on a day without DST) make one notice', () => {
    const rule: ReminderRule = { every: 'PT1H', maxCount: 0, beforeDue: ['P1D', 'PT24H'] };
    expect(shown(rule, OFFICE, '2026-11-23T09:00', '2026-11-25T17:00', 5)).toEqual([
      beforeDue('2026-11-24T17:00:00+08:00'),
    ]);
  });

  it('a ladder whose hours outlast its days on the working clock: the level the higher one overtakes is passed over', () => {
    // PT10H is a working day and a quarter here, so the risk group's P1D (Tuesday 10:00) comes first.
    const rule: ReminderRule = {
      clock: 'working',
      every: 'P5D',
      ladder: [
        { after: 'PT10H', to: 'supervisor' },
        { after: 'P1D', to: { group: 'risk' } },
      ],
    };
    expect(shown(rule, OFFICE, '2026-11-23T10:00', null, 2)).toEqual([
      escalation(1, '2026-11-24T10:00:00+08:00'),
      reminder('2026-11-30T10:00:00+08:00'),
    ]);
    const acknowledged = previewSchedule(
      {
        ...inputOf({
          rule,
          calendar: OFFICE,
          quiet: null,
          assignedAt: shanghai('2026-11-23T10:00'),
          dueAt: null,
        }),
        acknowledgedAt: shanghai('2026-11-24T09:59'),
      },
      2,
    );
    expect(acknowledged.map((n) => n.kind)).toEqual(['reminder', 'reminder']);
  });

  it('after downtime into quiet hours, the missed slots go out together when the quiet hours end, not at once', () => {
    const input: EngineInput = {
      ...NOTHING_SENT,
      ...inputOf({
        rule: { every: 'PT1H' },
        calendar: ANY_TIME,
        quiet: NIGHT,
        assignedAt: shanghai('2026-11-20T18:30'),
        dueAt: null,
      }),
      remindersSent: 1,
      lastReminderSlot: shanghai('2026-11-20T19:30'),
      now: shanghai('2026-11-21T03:00'),
    };
    // 20:30 … 07:30 all fold into the 08:00 notice: twelve slots, eleven skipped.
    expect(planNotice(input)).toMatchObject({
      kind: 'reminder',
      at: shanghai('2026-11-21T08:00'),
      slot: shanghai('2026-11-21T07:30'),
      index: 12,
      skipped: 11,
    });
    // An urgent rule sends the latest missed slot at once.
    const urgent = { ...input, schedule: parseSchedule({ every: 'PT1H', urgent: true }) };
    expect(planNotice(urgent)).toMatchObject({ at: shanghai('2026-11-21T02:30'), index: 7, skipped: 6 });
  });
});

describe('reminder engine — exact times across DST (America/New_York)', () => {
  const NEW_YORK = 'America/New_York';
  const ROUND: BusinessCalendar = { ...ANY_TIME, timeZone: NEW_YORK };
  const local = (t: number) =>
    DateTime.fromMillis(t, { zone: NEW_YORK }).toISO({ suppressMilliseconds: true });
  const at = (text: string) => DateTime.fromISO(text, { zone: NEW_YORK }).toMillis();
  const times = (rule: ReminderRule, assigned: string, count: number) =>
    previewSchedule(
      { ...inputOf({ rule, calendar: ROUND, quiet: null, assignedAt: at(assigned), dueAt: null }) },
      count,
    ).map((n) => local(n.at));

  it('every P1D from 02:30 the day before the spring-forward gap: 03:30 on the gap day, back to 02:30 after it', () => {
    expect(times({ every: 'P1D' }, '2026-03-07T02:30', 3)).toEqual([
      '2026-03-08T03:30:00-04:00',
      '2026-03-09T02:30:00-04:00',
      '2026-03-10T02:30:00-04:00',
    ]);
  });

  it('timesOfDay 01:30 fires once on the fall-back day, though the clock shows 01:30 twice', () => {
    expect(times({ timesOfDay: ['01:30'] }, '2026-10-31T12:00', 3)).toEqual([
      '2026-11-01T01:30:00-04:00',
      '2026-11-02T01:30:00-05:00',
      '2026-11-03T01:30:00-05:00',
    ]);
  });
});
