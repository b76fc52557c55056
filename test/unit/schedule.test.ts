import { describe, expect, it } from 'vitest';
import { parseSchedule, type ReminderRule, RuleError, type Schedule } from '../../src/domain/schedule.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The RuleError that parsing `rule` throws; JSON from the API may be anything, so the rule is not typed. */
function refusal(rule: unknown): RuleError {
  try {
    parseSchedule(rule as ReminderRule);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleError);
    expect((err as RuleError).code).toBe('INVALID_REMINDER_RULE');
    return err as RuleError;
  }
  throw new Error(`expected ${JSON.stringify(rule)} to be refused`);
}

const DEFAULTS: Schedule = {
  clock: 'calendar',
  firstAfter: null,
  firstAt: null,
  repeat: { every: { days: 0, ms: HOUR } },
  maxCount: null,
  beforeDue: [],
  ladder: [],
  urgent: false,
  calendar: null,
};

describe('parseSchedule — accepted shapes', () => {
  it('when only every is given, then everything else takes its default', () => {
    expect(parseSchedule({ every: 'PT1H' })).toEqual(DEFAULTS);
  });

  it('when every has days and time, then the days stay days (calendar or working) and the rest is time', () => {
    expect(parseSchedule({ clock: 'working', every: 'P1DT2H30M', calendar: 'cn-mainland' })).toEqual({
      ...DEFAULTS,
      clock: 'working',
      repeat: { every: { days: 1, ms: 2 * HOUR + 30 * MINUTE } },
      calendar: 'cn-mainland',
    });
    expect(parseSchedule({ every: 'P2W' }).repeat).toEqual({ every: { days: 14, ms: 0 } });
  });

  it('when timesOfDay is given, then the times come sorted and once each', () => {
    expect(parseSchedule({ timesOfDay: ['15:00', '09:00', '15:00'] }).repeat).toEqual({
      timesOfDay: ['09:00', '15:00'],
    });
  });

  it('when cron is given, then the five fields are kept as written', () => {
    expect(parseSchedule({ cron: '0 9 * * 1-5' }).repeat).toEqual({ cron: '0 9 * * 1-5' });
  });

  it('when the first notice is set by firstAfter or firstAt, then that is kept', () => {
    expect(parseSchedule({ every: 'PT1H', firstAfter: 'PT10M' }).firstAfter).toEqual({
      days: 0,
      ms: 10 * MINUTE,
    });
    expect(parseSchedule({ every: 'PT1H', firstAt: '08:30' }).firstAt).toBe('08:30');
  });

  it('when beforeDue lists offsets, then they come earliest notice first', () => {
    expect(parseSchedule({ every: 'PT1H', beforeDue: ['PT2H', 'P1D', 'PT30M'] }).beforeDue).toEqual([
      { days: 1, ms: 0 },
      { days: 0, ms: 2 * HOUR },
      { days: 0, ms: 30 * MINUTE },
    ]);
  });

  it('when a ladder is given, then each level keeps its target, cadence, count and channels; maxCount defaults to 1', () => {
    const s = parseSchedule({
      every: 'PT4H',
      maxCount: 6,
      urgent: true,
      ladder: [
        { after: 'PT1H', to: 'handler', every: 'PT30M', maxCount: 3 },
        { after: 'PT4H', to: 'supervisor', channels: ['im', 'email'] },
        { after: 'P1D', to: { group: 'risk' } },
        { after: 'P2D', to: { handler: 'h-7' } },
      ],
    });
    expect(s.maxCount).toBe(6);
    expect(s.urgent).toBe(true);
    expect(s.ladder).toEqual([
      {
        after: { days: 0, ms: HOUR },
        to: 'handler',
        every: { days: 0, ms: 30 * MINUTE },
        maxCount: 3,
        channels: null,
      },
      {
        after: { days: 0, ms: 4 * HOUR },
        to: 'supervisor',
        every: null,
        maxCount: 1,
        channels: ['im', 'email'],
      },
      { after: { days: 1, ms: 0 }, to: { group: 'risk' }, every: null, maxCount: 1, channels: null },
      { after: { days: 2, ms: 0 }, to: { handler: 'h-7' }, every: null, maxCount: 1, channels: null },
    ]);
  });

  it('when the legacy escalateAfter is given, then it is one ladder level to the supervisor', () => {
    expect(parseSchedule({ every: 'PT1H', escalateAfter: 'PT4H' }).ladder).toEqual([
      { after: { days: 0, ms: 4 * HOUR }, to: 'supervisor', every: null, maxCount: 1, channels: null },
    ]);
  });

  it('when a rule is parsed, then the rule object is left as it was', () => {
    const rule: ReminderRule = {
      timesOfDay: ['15:00', '09:00'],
      beforeDue: ['PT2H', 'P1D'],
      ladder: [{ after: 'PT1H', to: 'supervisor', channels: ['im'] }],
    };
    const before = structuredClone(rule);
    const s = parseSchedule(rule);
    expect(rule).toEqual(before);
    expect(s.ladder[0]!.channels).not.toBe(rule.ladder![0]!.channels);
  });
});

describe('parseSchedule — refused input names the field', () => {
  it.each<[string, unknown, string]>([
    ['cron with six fields', { cron: '0 0 9 * * 1' }, 'cron'],
    ['cron with "?"', { cron: '0 9 ? * 1' }, 'cron'],
    ['cron that is no cron', { cron: '0 25 * * *' }, 'cron'],
    ['cron as a nickname', { cron: '@daily' }, 'cron'],
    [
      'a ladder level that starts with the one before it',
      {
        every: 'PT1H',
        ladder: [
          { after: 'PT4H', to: 'supervisor' },
          { after: 'PT4H', to: 'handler' },
        ],
      },
      'ladder[1].after',
    ],
    [
      'a ladder level that starts before the one before it',
      {
        every: 'PT1H',
        ladder: [
          { after: 'P1D', to: 'supervisor' },
          { after: 'PT23H', to: 'handler' },
        ],
      },
      'ladder[1].after',
    ],
    [
      'escalateAfter together with a ladder',
      { every: 'PT1H', escalateAfter: 'PT1H', ladder: [{ after: 'PT2H', to: 'supervisor' }] },
      'ladder',
    ],
    ['timesOfDay 25:00', { timesOfDay: ['09:00', '25:00'] }, 'timesOfDay[1]'],
    ['timesOfDay without a leading zero', { timesOfDay: ['9:00'] }, 'timesOfDay[0]'],
    ['timesOfDay empty', { timesOfDay: [] }, 'timesOfDay'],
    [
      'a target that is no role',
      { every: 'PT1H', ladder: [{ after: 'PT1H', to: 'manager' }] },
      'ladder[0].to',
    ],
    [
      'a target with an empty group',
      { every: 'PT1H', ladder: [{ after: 'PT1H', to: { group: '' } }] },
      'ladder[0].to',
    ],
    [
      'a target naming both a group and a handler',
      { every: 'PT1H', ladder: [{ after: 'PT1H', to: { group: 'g', handler: 'h' } }] },
      'ladder[0].to',
    ],
    [
      'a target of an unknown kind',
      { every: 'PT1H', ladder: [{ after: 'PT1H', to: { team: 'x' } }] },
      'ladder[0].to',
    ],
    ['a ladder level that is no object', { every: 'PT1H', ladder: [null] }, 'ladder[0]'],
    ['months in every', { every: 'P1M' }, 'every'],
    [
      'years in a ladder level',
      { every: 'PT1H', ladder: [{ after: 'P1Y', to: 'supervisor' }] },
      'ladder[0].after',
    ],
    ['months in beforeDue', { every: 'PT1H', beforeDue: ['PT1H', 'P1M'] }, 'beforeDue[1]'],
    ['months in firstAfter', { every: 'PT1H', firstAfter: 'P1M' }, 'firstAfter'],
    ['weeks on the working clock', { clock: 'working', every: 'P1W' }, 'every'],
    [
      'weeks on the working clock in a ladder level',
      { clock: 'working', every: 'PT1H', ladder: [{ after: 'P1W', to: 'supervisor' }] },
      'ladder[0].after',
    ],
    ['both every and cron', { every: 'PT1H', cron: '0 9 * * *' }, 'every'],
    ['both timesOfDay and cron', { timesOfDay: ['09:00'], cron: '0 9 * * *' }, 'every'],
    ['none of every, timesOfDay and cron', { maxCount: 3 }, 'every'],
    ['both firstAfter and firstAt', { every: 'PT1H', firstAfter: 'PT1H', firstAt: '09:00' }, 'firstAt'],
    ['firstAt that is no time', { every: 'PT1H', firstAt: '9am' }, 'firstAt'],
    ['every below a second', { every: 'PT0.5S' }, 'every'],
    ['every of nothing', { every: 'PT0S' }, 'every'],
    ['a negative duration', { every: 'PT-5M' }, 'every'],
    ['half days', { every: 'P1.5D' }, 'every'],
    ['text that is no duration', { every: '30m' }, 'every'],
    ['a clock of another kind', { clock: 'wall', every: 'PT1H' }, 'clock'],
    ['a negative maxCount', { every: 'PT1H', maxCount: -1 }, 'maxCount'],
    [
      'a fractional maxCount in a ladder level',
      { every: 'PT1H', ladder: [{ after: 'PT1H', to: 'handler', maxCount: 1.5 }] },
      'ladder[0].maxCount',
    ],
    [
      'channels that are no list of names',
      { every: 'PT1H', ladder: [{ after: 'PT1H', to: 'handler', channels: ['im', ''] }] },
      'ladder[0].channels',
    ],
    ['beforeDue that is no list', { every: 'PT1H', beforeDue: 'PT1H' }, 'beforeDue'],
    ['urgent that is no boolean', { every: 'PT1H', urgent: 'yes' }, 'urgent'],
    ['an empty calendar code', { every: 'PT1H', calendar: '' }, 'calendar'],
    ['a rule that is no object', null, 'reminderRule'],
  ])('%s', (_, rule, field) => {
    expect(refusal(rule).field).toBe(field);
  });

  it('when a field is refused, then the message names it too', () => {
    expect(refusal({ timesOfDay: ['25:00'] }).message).toContain('reminderRule.timesOfDay[0]');
    expect(refusal({ every: 'PT1H', ladder: [{ after: 'PT1H', to: 'manager' }] }).message).toContain(
      'ladder[0].to',
    );
    expect(refusal({ every: 'P1M' }).message).toContain('"P1M"');
  });
});
