import { describe, expect, it } from 'vitest';
import { DurationError, isDuration, parseDuration } from '../../src/domain/duration.js';
import { PRIORITIES } from '../../src/domain/matter.js';
import {
  defaultRuleFor,
  MIN_INTERVAL_MS,
  parseRule,
  type ReminderRule,
  RuleError,
} from '../../src/domain/reminder-rule.js';

function ruleError(fn: () => unknown): RuleError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RuleError);
    return err as RuleError;
  }
  throw new Error('expected a RuleError, but nothing was thrown');
}

describe('parseDuration', () => {
  it.each([
    ['PT30M', 30 * 60_000],
    ['P1D', 86_400_000],
    ['P1W', 7 * 86_400_000],
    ['PT1.5S', 1500],
    ['PT1H30M', 90 * 60_000],
    ['P1DT12H', 36 * 3_600_000],
  ])('when given %s, then it returns %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(isDuration(text)).toBe(true);
  });

  it.each([
    ['', 'not an ISO 8601 duration'],
    ['P', 'longer than zero'],
    ['30m', 'not an ISO 8601 duration'],
    ['P1M', 'months or years'],
    ['P1Y', 'months or years'],
    ['PT0S', 'longer than zero'],
    ['PT-5M', 'longer than zero'],
  ])('when given %j, then it throws a DurationError (%s)', (text, why) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(why);
    expect(isDuration(text)).toBe(false);
  });

  it('when it rejects a duration, then the error carries code INVALID_DURATION and quotes the input', () => {
    try {
      parseDuration('P1M');
      expect.unreachable('P1M must be rejected');
    } catch (err) {
      expect(err).toBeInstanceOf(DurationError);
      expect((err as DurationError).code).toBe('INVALID_DURATION');
      expect((err as DurationError).message).toContain('"P1M"');
    }
  });
});

describe('parseRule', () => {
  it('when only every is given, then firstAfter defaults to every, maxCount is unlimited and there is no escalation', () => {
    expect(parseRule({ every: 'PT15M' })).toEqual({
      everyMs: 15 * 60_000,
      firstAfterMs: 15 * 60_000,
      maxCount: null,
      escalateAfterMs: null,
    });
  });

  it('when every field is given, then each is parsed to milliseconds', () => {
    expect(parseRule({ firstAfter: 'PT5M', every: 'PT1H', maxCount: 3, escalateAfter: 'P1D' })).toEqual({
      everyMs: 3_600_000,
      firstAfterMs: 300_000,
      maxCount: 3,
      escalateAfterMs: 86_400_000,
    });
  });

  it('when maxCount is 0, then it is kept as 0 (not treated as absent)', () => {
    expect(parseRule({ every: 'PT1H', maxCount: 0 }).maxCount).toBe(0);
  });

  it('when an interval is exactly the 1-second minimum, then it is accepted', () => {
    expect(MIN_INTERVAL_MS).toBe(1000);
    expect(parseRule({ every: 'PT1S', firstAfter: 'PT1S', escalateAfter: 'PT1S' })).toMatchObject({
      everyMs: 1000,
      firstAfterMs: 1000,
      escalateAfterMs: 1000,
    });
  });

  it.each<[string, ReminderRule, string]>([
    ['every is missing', {} as ReminderRule, 'every'],
    ['every is empty', { every: '' }, 'every'],
    ['every is not a duration', { every: 'hourly' }, 'every'],
    ['every uses months', { every: 'P1M' }, 'every'],
    ['every is zero', { every: 'PT0S' }, 'every'],
    ['every is under a second', { every: 'PT0.5S' }, 'every'],
    ['firstAfter is not a duration', { every: 'PT1H', firstAfter: 'soon' }, 'firstAfter'],
    ['firstAfter is under a second', { every: 'PT1H', firstAfter: 'PT0.1S' }, 'firstAfter'],
    ['escalateAfter uses years', { every: 'PT1H', escalateAfter: 'P1Y' }, 'escalateAfter'],
    ['escalateAfter is under a second', { every: 'PT1H', escalateAfter: 'PT0.999S' }, 'escalateAfter'],
    ['maxCount is negative', { every: 'PT1H', maxCount: -1 }, 'maxCount'],
    ['maxCount is fractional', { every: 'PT1H', maxCount: 1.5 }, 'maxCount'],
    ['maxCount is NaN', { every: 'PT1H', maxCount: Number.NaN }, 'maxCount'],
    ['maxCount is a string', { every: 'PT1H', maxCount: '3' as unknown as number }, 'maxCount'],
  ])('when %s, then a RuleError with code INVALID_REMINDER_RULE names field %s', (_case, rule, field) => {
    const err = ruleError(() => parseRule(rule));
    expect(err.code).toBe('INVALID_REMINDER_RULE');
    expect(err.field).toBe(field);
    expect(err.message).toContain(`reminderRule.${field}`);
  });

  it('when a duration is invalid, then the error is a RuleError and not the underlying DurationError', () => {
    const err = ruleError(() => parseRule({ every: 'P1M' }));
    expect(err).not.toBeInstanceOf(DurationError);
    expect(err.message).toContain('months or years');
  });
});

describe('defaultRuleFor', () => {
  it('when asked for each priority, then it returns a rule that parses', () => {
    for (const priority of PRIORITIES) {
      expect(() => parseRule(defaultRuleFor(priority))).not.toThrow();
    }
  });

  it('when asked for the documented defaults, then it returns them', () => {
    expect(defaultRuleFor('urgent')).toEqual({ every: 'PT15M', maxCount: 16, escalateAfter: 'PT1H' });
    expect(defaultRuleFor('high')).toEqual({ every: 'PT1H', maxCount: 8, escalateAfter: 'PT4H' });
    expect(defaultRuleFor('normal')).toEqual({ every: 'PT4H', maxCount: 6, escalateAfter: 'P1D' });
    expect(defaultRuleFor('low')).toEqual({ every: 'P1D', maxCount: 5 });
  });

  it('when the returned rule is mutated, then later calls still return the pristine default (fresh copy per call)', () => {
    for (const priority of PRIORITIES) {
      const first = defaultRuleFor(priority);
      const pristine = structuredClone(first);
      const second = defaultRuleFor(priority);
      expect(second).not.toBe(first);
      first.every = 'PT1S';
      first.maxCount = 999;
      first.escalateAfter = 'PT1S';
      expect(defaultRuleFor(priority)).toEqual(pristine);
      expect(second).toEqual(pristine);
    }
  });
});
