import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUND_THE_CLOCK } from '../../src/domain/calendar.js';
import { NOTHING_SENT, planNotice } from '../../src/domain/planner.js';
import { type ParsedRule, parseRule, type ReminderRule } from '../../src/domain/reminder-rule.js';
import type { Schedule, Span } from '../../src/domain/schedule.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const T0 = Date.parse('2025-03-10T08:00:00.000Z');

/** One handler's assignment under a rule of the first contract; times in epoch ms. */
interface PlanInput {
  rule: ParsedRule;
  assignedAt: number;
  dueAt: number | null;
  remindersSent: number;
  escalated: boolean;
  now: number;
}

type PlannedNotice =
  | { kind: 'reminder'; at: number; index: number; skipped: number }
  | { kind: 'escalation'; at: number };

/** The first contract's rules (fixed intervals, one escalation) in the engine's terms. */
function scheduleOf(rule: ParsedRule): Schedule {
  const span = (ms: number): Span => ({ days: 0, ms });
  return {
    clock: 'calendar',
    firstAfter: span(rule.firstAfterMs),
    firstAt: null,
    repeat: { every: span(rule.everyMs) },
    maxCount: rule.maxCount,
    beforeDue: [],
    ladder:
      rule.escalateAfterMs === null
        ? []
        : [{ after: span(rule.escalateAfterMs), to: 'supervisor', every: null, maxCount: 1, channels: null }],
    urgent: false,
    calendar: null,
  };
}

/**
 * The engine's next notice for a fixed-interval rule on the round-the-clock calendar, in the terms the
 * workflow used before ladders and calendars, which these tests were written against.
 */
function planNext(input: PlanInput): PlannedNotice | null {
  const next = planNotice({
    ...NOTHING_SENT,
    schedule: scheduleOf(input.rule),
    context: { calendar: ROUND_THE_CLOCK, quiet: null },
    assignedAt: input.assignedAt,
    dueAt: input.dueAt,
    remindersSent: input.remindersSent,
    ladderSent: [input.escalated ? 1 : 0],
    now: input.now,
  });
  if (!next) return null;
  if (next.kind === 'reminder')
    return { kind: 'reminder', at: next.at, index: next.index, skipped: next.skipped };
  return { kind: 'escalation', at: next.at };
}

function input(rule: ReminderRule, overrides: Partial<Omit<PlanInput, 'rule'>> = {}): PlanInput {
  return {
    rule: parseRule(rule),
    assignedAt: T0,
    dueAt: null,
    remindersSent: 0,
    escalated: false,
    now: T0,
    ...overrides,
  };
}

function slot(rule: ParsedRule, assignedAt: number, index: number): number {
  return assignedAt + rule.firstAfterMs + index * rule.everyMs;
}

interface Simulation {
  notices: PlannedNotice[];
  remindersSent: number;
  escalated: boolean;
  /** True when the planner itself answered null (the rule had nothing more to send). */
  ended: boolean;
}

/**
 * Drives the planner the way the workflow does: sleep until the notice is due (or send at once when
 * it is already past), then record it.
 */
function simulate(start: PlanInput, maxReminders = Number.POSITIVE_INFINITY): Simulation {
  let state = { ...start };
  const notices: PlannedNotice[] = [];
  let sent = 0;
  let ended = false;
  for (let i = 0; i < 1000 && sent < maxReminders; i++) {
    const next = planNext(state);
    if (!next) {
      ended = true;
      break;
    }
    notices.push(next);
    if (next.kind === 'reminder') sent++;
    const now = Math.max(state.now, next.at);
    state =
      next.kind === 'reminder'
        ? { ...state, now, remindersSent: next.index + 1 }
        : { ...state, now, escalated: true };
  }
  return { notices, remindersSent: state.remindersSent, escalated: state.escalated, ended };
}

function reminders(notices: PlannedNotice[]) {
  return notices.filter((n): n is Extract<PlannedNotice, { kind: 'reminder' }> => n.kind === 'reminder');
}

describe('planNext — examples', () => {
  it('when nothing was sent yet, then the first reminder is one `every` after assignment', () => {
    expect(planNext(input({ every: 'PT1H' }))).toEqual({
      kind: 'reminder',
      at: T0 + HOUR,
      index: 0,
      skipped: 0,
    });
  });

  it('when firstAfter is given, then slot i is at assignedAt + firstAfter + i*every', () => {
    const rule: ReminderRule = { firstAfter: 'PT10M', every: 'PT1H' };
    expect(planNext(input(rule))).toEqual({ kind: 'reminder', at: T0 + 10 * MINUTE, index: 0, skipped: 0 });
    expect(planNext(input(rule, { remindersSent: 2, now: T0 + 70 * MINUTE + 1 }))).toEqual({
      kind: 'reminder',
      at: T0 + 10 * MINUTE + 2 * HOUR,
      index: 2,
      skipped: 0,
    });
  });

  it('when the next slot is still in the future, then it is returned unchanged with skipped 0', () => {
    const next = planNext(input({ every: 'PT1H' }, { remindersSent: 3, now: T0 + 3 * HOUR + 30 * MINUTE }));
    expect(next).toEqual({ kind: 'reminder', at: T0 + 4 * HOUR, index: 3, skipped: 0 });
  });

  it('when the next slot falls exactly on now, then that slot is returned without skipping', () => {
    const next = planNext(input({ every: 'PT1H' }, { remindersSent: 1, now: T0 + 2 * HOUR }));
    expect(next).toEqual({ kind: 'reminder', at: T0 + 2 * HOUR, index: 1, skipped: 0 });
  });

  it('when maxCount reminders were sent, then no further reminder is planned', () => {
    expect(planNext(input({ every: 'PT1H', maxCount: 3 }, { remindersSent: 3, now: T0 + DAY }))).toBeNull();
    expect(planNext(input({ every: 'PT1H', maxCount: 3 }, { remindersSent: 2 }))).toMatchObject({
      kind: 'reminder',
      index: 2,
    });
  });

  it('when maxCount is 0, then no reminder is ever planned', () => {
    expect(planNext(input({ every: 'PT1M', maxCount: 0 }))).toBeNull();
    expect(planNext(input({ every: 'PT1M', maxCount: 0 }, { now: T0 + 30 * DAY }))).toBeNull();
  });

  it('when maxCount is 0 but the rule escalates, then only the escalation is planned', () => {
    expect(planNext(input({ every: 'PT1M', maxCount: 0, escalateAfter: 'PT2H' }))).toEqual({
      kind: 'escalation',
      at: T0 + 2 * HOUR,
    });
  });

  it('when maxCount is absent, then reminders never run out', () => {
    const next = planNext(input({ every: 'PT1H' }, { remindersSent: 10_000, now: T0 }));
    expect(next).toEqual({ kind: 'reminder', at: T0 + 10_001 * HOUR, index: 10_000, skipped: 0 });
  });

  describe('after downtime', () => {
    it('when several slots were missed, then they collapse into the latest slot at or before now', () => {
      // slots: +1h(0) +2h(1) +3h(2) +4h(3) +5h(4) +6h(5); one reminder was sent; now is +5h30m
      const next = planNext(input({ every: 'PT1H' }, { remindersSent: 1, now: T0 + 5 * HOUR + 30 * MINUTE }));
      expect(next).toEqual({ kind: 'reminder', at: T0 + 5 * HOUR, index: 4, skipped: 3 });
    });

    it('when the downtime runs past the last allowed slot, then the collapse stops at maxCount-1', () => {
      const next = planNext(input({ every: 'PT1H', maxCount: 3 }, { now: T0 + 10 * HOUR }));
      expect(next).toEqual({ kind: 'reminder', at: T0 + 3 * HOUR, index: 2, skipped: 2 });
    });

    it('when only the pending slot is past, then it is returned with skipped 0', () => {
      const next = planNext(input({ every: 'PT1H' }, { remindersSent: 2, now: T0 + 3 * HOUR + 59 * MINUTE }));
      expect(next).toEqual({ kind: 'reminder', at: T0 + 3 * HOUR, index: 2, skipped: 0 });
    });

    it('when firstAfter differs from every, then collapse uses the firstAfter offset', () => {
      // slots: +15m(0) +1h15m(1) +2h15m(2) +3h15m(3)
      const next = planNext(
        input({ firstAfter: 'PT15M', every: 'PT1H' }, { now: T0 + 3 * HOUR + 14 * MINUTE }),
      );
      expect(next).toEqual({ kind: 'reminder', at: T0 + 2 * HOUR + 15 * MINUTE, index: 2, skipped: 2 });
    });
  });

  describe('escalation', () => {
    it('when the matter has no due time, then escalation is measured from assignment', () => {
      const next = planNext(input({ every: 'PT4H', escalateAfter: 'PT1H' }));
      expect(next).toEqual({ kind: 'escalation', at: T0 + HOUR });
    });

    it('when the matter has a due time, then escalation is measured from the due time', () => {
      const next = planNext(input({ every: 'P1W', escalateAfter: 'PT4H' }, { dueAt: T0 + DAY }));
      expect(next).toEqual({ kind: 'escalation', at: T0 + DAY + 4 * HOUR });
    });

    it('when the matter was handed over already overdue, then escalation counts from the assignment', () => {
      const next = planNext(input({ every: 'P1W', escalateAfter: 'PT1H' }, { dueAt: T0 - 5 * HOUR }));
      expect(next).toEqual({ kind: 'escalation', at: T0 + HOUR });
    });

    it('when the due time is the epoch (0) and assignment too, then the due time is used, not ignored', () => {
      const next = planNext(input({ every: 'P1W', escalateAfter: 'PT1H' }, { dueAt: 0, assignedAt: 0 }));
      expect(next).toEqual({ kind: 'escalation', at: HOUR });
    });

    it('when already escalated, then escalation is not planned again', () => {
      const next = planNext(input({ every: 'PT4H', escalateAfter: 'PT1H' }, { escalated: true }));
      expect(next).toEqual({ kind: 'reminder', at: T0 + 4 * HOUR, index: 0, skipped: 0 });
    });

    it('when the reminder comes first, then the reminder wins', () => {
      const next = planNext(input({ every: 'PT1H', escalateAfter: 'PT2H' }));
      expect(next).toMatchObject({ kind: 'reminder', at: T0 + HOUR });
    });

    it('when the escalation comes first, then the escalation wins', () => {
      const next = planNext(input({ every: 'PT1H', escalateAfter: 'PT30M' }));
      expect(next).toEqual({ kind: 'escalation', at: T0 + 30 * MINUTE });
    });

    it('when reminder and escalation fall on the same instant, then escalation goes first and the reminder follows', () => {
      const tie = input({ every: 'PT1H', escalateAfter: 'PT1H' });
      expect(planNext(tie)).toEqual({ kind: 'escalation', at: T0 + HOUR });
      expect(planNext({ ...tie, escalated: true, now: T0 + HOUR })).toEqual({
        kind: 'reminder',
        at: T0 + HOUR,
        index: 0,
        skipped: 0,
      });
    });

    it('when reminders are exhausted but escalation is pending, then the escalation is returned even if past', () => {
      const next = planNext(
        input(
          { every: 'PT1H', maxCount: 2, escalateAfter: 'PT1H' },
          { remindersSent: 2, dueAt: T0, now: T0 + DAY },
        ),
      );
      expect(next).toEqual({ kind: 'escalation', at: T0 + HOUR });
    });

    it('when reminders are exhausted and escalation is done or absent, then null is returned', () => {
      expect(
        planNext(
          input({ every: 'PT1H', maxCount: 2, escalateAfter: 'PT1H' }, { remindersSent: 2, escalated: true }),
        ),
      ).toBeNull();
      expect(planNext(input({ every: 'PT1H', maxCount: 2 }, { remindersSent: 2 }))).toBeNull();
    });
  });

  it('when the rule is every P1D from a fixed date, then reminders land on consecutive days at the same time', () => {
    const assignedAt = Date.parse('2025-03-28T09:00:00.000Z');
    const run = simulate(input({ every: 'P1D', maxCount: 5 }, { assignedAt, now: assignedAt }));
    expect(run.notices.map((n) => new Date(n.at).toISOString())).toEqual([
      '2025-03-29T09:00:00.000Z',
      '2025-03-30T09:00:00.000Z',
      '2025-03-31T09:00:00.000Z',
      '2025-04-01T09:00:00.000Z',
      '2025-04-02T09:00:00.000Z',
    ]);
    expect(reminders(run.notices).map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(run.remindersSent).toBe(5);
    expect(run.ended).toBe(true);
  });

  it('when the default urgent rule runs to the end, then 16 quarter-hourly reminders and one escalation after an hour are sent', () => {
    const run = simulate(input({ every: 'PT15M', maxCount: 16, escalateAfter: 'PT1H' }));
    expect(run.ended).toBe(true);
    expect(reminders(run.notices)).toHaveLength(16);
    const escalations = run.notices.filter((n) => n.kind === 'escalation');
    expect(escalations).toEqual([{ kind: 'escalation', at: T0 + HOUR }]);
    // the escalation ties with reminder #3 (index 3 at +60m) and goes first
    expect(run.notices.slice(3, 5)).toEqual([
      { kind: 'escalation', at: T0 + HOUR },
      { kind: 'reminder', at: T0 + HOUR, index: 3, skipped: 0 },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const durationArb: fc.Arbitrary<{ text: string; ms: number }> = fc.oneof(
  fc.integer({ min: 1, max: 7200 }).map((s) => ({ text: `PT${s}S`, ms: s * SECOND })),
  fc.integer({ min: 1, max: 600 }).map((m) => ({ text: `PT${m}M`, ms: m * MINUTE })),
  fc.integer({ min: 1, max: 72 }).map((h) => ({ text: `PT${h}H`, ms: h * HOUR })),
  fc.integer({ min: 1, max: 14 }).map((d) => ({ text: `P${d}D`, ms: d * DAY })),
  fc.integer({ min: 1, max: 2 }).map((w) => ({ text: `P${w}W`, ms: 7 * w * DAY })),
);

interface GeneratedRule {
  rule: ReminderRule;
  parsed: ParsedRule;
  expected: ParsedRule;
}

const ruleArb: fc.Arbitrary<GeneratedRule> = fc
  .record({
    every: durationArb,
    firstAfter: fc.option(durationArb, { nil: undefined }),
    maxCount: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    escalateAfter: fc.option(durationArb, { nil: undefined }),
  })
  .map(({ every, firstAfter, maxCount, escalateAfter }) => {
    const rule: ReminderRule = { every: every.text };
    if (firstAfter) rule.firstAfter = firstAfter.text;
    if (maxCount !== undefined) rule.maxCount = maxCount;
    if (escalateAfter) rule.escalateAfter = escalateAfter.text;
    const expected: ParsedRule = {
      everyMs: every.ms,
      firstAfterMs: firstAfter?.ms ?? every.ms,
      maxCount: maxCount ?? null,
      escalateAfterMs: escalateAfter?.ms ?? null,
    };
    return { rule, parsed: parseRule(rule), expected };
  });

const inputArb: fc.Arbitrary<PlanInput> = fc
  .record({
    rule: ruleArb,
    assignedAt: fc.integer({
      min: Date.parse('2020-01-01T00:00:00Z'),
      max: Date.parse('2035-01-01T00:00:00Z'),
    }),
    dueOffset: fc.option(fc.integer({ min: -10 * DAY, max: 30 * DAY }), { nil: null }),
    remindersSent: fc.nat({ max: 20 }),
    escalated: fc.boolean(),
    nowOffset: fc.integer({ min: -DAY, max: 120 * DAY }),
  })
  .map(({ rule, assignedAt, dueOffset, remindersSent, escalated, nowOffset }) => ({
    rule: rule.parsed,
    assignedAt,
    dueAt: dueOffset === null ? null : assignedAt + dueOffset,
    remindersSent,
    escalated,
    now: assignedAt + nowOffset,
  }));

/** The reminder the planner would send if escalation were out of the picture. */
function reminderOnly(i: PlanInput): PlannedNotice | null {
  return planNext({ ...i, escalated: true });
}

function remindersLeft(i: PlanInput): boolean {
  return i.rule.maxCount === null || i.remindersSent < i.rule.maxCount;
}

describe('planNext — properties', () => {
  it('parseRule turns generated rules into the expected milliseconds, firstAfter defaulting to every', () => {
    fc.assert(
      fc.property(ruleArb, ({ parsed, expected }) => {
        expect(parsed).toEqual(expected);
      }),
    );
  });

  it('a planned reminder is never earlier than the slot of remindersSent (never reminds early)', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const next = planNext(i);
        if (next?.kind === 'reminder') {
          expect(next.at).toBeGreaterThanOrEqual(slot(i.rule, i.assignedAt, i.remindersSent));
        }
      }),
    );
  });

  it('a planned reminder sits exactly on its slot, with remindersSent <= index < maxCount and skipped = index - remindersSent', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const next = reminderOnly(i);
        if (!remindersLeft(i)) {
          expect(next).toBeNull();
          return;
        }
        expect(next).not.toBeNull();
        if (next?.kind !== 'reminder') throw new Error(`expected a reminder, got ${JSON.stringify(next)}`);
        expect(next.at).toBe(slot(i.rule, i.assignedAt, next.index));
        expect(next.index).toBeGreaterThanOrEqual(i.remindersSent);
        if (i.rule.maxCount !== null) expect(next.index).toBeLessThan(i.rule.maxCount);
        expect(next.skipped).toBe(next.index - i.remindersSent);
      }),
    );
  });

  it('when the planned reminder is in the future, then nothing is skipped and it is the very next slot', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const next = planNext(i);
        if (next?.kind === 'reminder' && next.at > i.now) {
          expect(next.skipped).toBe(0);
          expect(next.index).toBe(i.remindersSent);
        }
      }),
    );
  });

  it('when the pending slot is past, then the latest slot at or before now is chosen (capped at maxCount-1)', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const next = reminderOnly(i);
        if (next?.kind !== 'reminder' || slot(i.rule, i.assignedAt, i.remindersSent) > i.now) return;
        expect(next.at).toBeLessThanOrEqual(i.now);
        const isLast = i.rule.maxCount !== null && next.index === i.rule.maxCount - 1;
        if (!isLast) expect(slot(i.rule, i.assignedAt, next.index + 1)).toBeGreaterThan(i.now);
      }),
    );
  });

  it('escalation is planned at max(dueAt, assignedAt) + escalateAfter, only when not yet escalated', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const next = planNext(i);
        if (next?.kind !== 'escalation') return;
        expect(i.escalated).toBe(false);
        expect(i.rule.escalateAfterMs).not.toBeNull();
        expect(next.at).toBe(
          Math.max(i.dueAt ?? i.assignedAt, i.assignedAt) + (i.rule.escalateAfterMs ?? Number.NaN),
        );
      }),
    );
  });

  it('of the two candidates the earlier wins and a tie goes to escalation', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const reminder = reminderOnly(i);
        const escalation =
          i.escalated || i.rule.escalateAfterMs === null
            ? null
            : {
                kind: 'escalation' as const,
                at: Math.max(i.dueAt ?? i.assignedAt, i.assignedAt) + i.rule.escalateAfterMs,
              };
        let expected: PlannedNotice | null;
        if (!reminder) expected = escalation;
        else if (!escalation) expected = reminder;
        else expected = escalation.at <= reminder.at ? escalation : reminder;
        expect(planNext(i)).toEqual(expected);
      }),
    );
  });

  it('null is returned exactly when no reminder is left and escalation is done or not configured', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const nothingLeft = !remindersLeft(i) && (i.escalated || i.rule.escalateAfterMs === null);
        expect(planNext(i) === null).toBe(nothingLeft);
      }),
    );
  });

  it('is deterministic and does not mutate its input', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const before = structuredClone(i);
        const a = planNext(i);
        const b = planNext(structuredClone(i));
        expect(b).toEqual(a);
        expect(i).toEqual(before);
      }),
    );
  });

  it('a run without downtime sends exactly maxCount reminders on consecutive slots, strictly increasing, and at most one escalation', () => {
    fc.assert(
      fc.property(
        ruleArb,
        fc.integer({ min: 0, max: 2e12 }),
        fc.option(fc.integer({ min: -10 * DAY, max: 30 * DAY }), { nil: null }),
        ({ parsed }, assignedAt, dueOffset) => {
          const cap = parsed.maxCount ?? 25;
          const run = simulate(
            {
              rule: parsed,
              assignedAt,
              dueAt: dueOffset === null ? null : assignedAt + dueOffset,
              remindersSent: 0,
              escalated: false,
              now: assignedAt,
            },
            // a finite rule is run until the planner answers null; an unlimited one is cut off
            parsed.maxCount === null ? cap : Number.POSITIVE_INFINITY,
          );
          const sent = reminders(run.notices);
          const escalations = run.notices.filter((n) => n.kind === 'escalation');
          expect(sent).toHaveLength(cap);
          expect(sent.map((r) => r.index)).toEqual([...Array(sent.length).keys()]);
          expect(sent.every((r) => r.skipped === 0)).toBe(true);
          for (let k = 1; k < sent.length; k++) expect(sent[k]!.at).toBeGreaterThan(sent[k - 1]!.at);
          expect(escalations.length).toBeLessThanOrEqual(1);
          if (parsed.maxCount !== null) {
            // a finite rule runs dry once every reminder and the escalation (when configured) went out
            expect(run.ended).toBe(true);
            expect(escalations).toHaveLength(parsed.escalateAfterMs === null ? 0 : 1);
          }
        },
      ),
    );
  });

  it('a run that starts after downtime accounts for every slot exactly once (sent + skipped = maxCount) and only its first reminder skips', () => {
    fc.assert(
      fc.property(
        ruleArb.filter(({ parsed }) => parsed.maxCount !== null),
        fc.integer({ min: 0, max: 2e12 }),
        fc.integer({ min: 0, max: 60 * DAY }),
        ({ parsed }, assignedAt, downtime) => {
          const maxCount = parsed.maxCount ?? 0;
          const run = simulate({
            rule: parsed,
            assignedAt,
            dueAt: null,
            remindersSent: 0,
            escalated: false,
            now: assignedAt + downtime,
          });
          expect(run.ended).toBe(true);
          const sent = reminders(run.notices);
          expect(sent.reduce((acc, r) => acc + 1 + r.skipped, 0)).toBe(maxCount);
          expect(run.remindersSent).toBe(maxCount);
          expect(sent.slice(1).every((r) => r.skipped === 0)).toBe(true);
          for (let k = 1; k < sent.length; k++) {
            expect(sent[k]!.at).toBeGreaterThan(sent[k - 1]!.at);
            expect(sent[k]!.index).toBe(sent[k - 1]!.index + 1);
          }
          expect(run.notices.filter((n) => n.kind === 'escalation').length).toBeLessThanOrEqual(1);
          expect(run.escalated).toBe(parsed.escalateAfterMs !== null);
        },
      ),
    );
  });
});
