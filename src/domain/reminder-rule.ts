import type { Priority } from './matter.js';
import { parseSchedule, type ReminderRule, RuleError, spanMs } from './schedule.js';

export { MIN_INTERVAL_MS, type ReminderRule, RuleError } from './schedule.js';

/** A rule of the first contract (every, firstAfter, maxCount, escalateAfter) in milliseconds. */
export interface ParsedRule {
  firstAfterMs: number;
  everyMs: number;
  maxCount: number | null;
  escalateAfterMs: number | null;
}

const DEFAULT_RULES: Record<Priority, ReminderRule> = {
  urgent: { every: 'PT15M', maxCount: 16, escalateAfter: 'PT1H' },
  high: { every: 'PT1H', maxCount: 8, escalateAfter: 'PT4H' },
  normal: { every: 'PT4H', maxCount: 6, escalateAfter: 'P1D' },
  low: { every: 'P1D', maxCount: 5 },
};

export function defaultRuleFor(priority: Priority): ReminderRule {
  return { ...DEFAULT_RULES[priority] };
}

/** Validates any rule; answers in milliseconds for one of the first contract's shape. */
export function parseRule(rule: ReminderRule): ParsedRule {
  const s = parseSchedule(rule);
  if (
    !('every' in s.repeat) ||
    s.clock !== 'calendar' ||
    s.ladder.length > 1 ||
    s.firstAt ||
    s.beforeDue.length
  ) {
    throw new RuleError(
      'reminderRule: this rule needs the reminder engine, not the fixed-interval planner',
      'reminderRule',
    );
  }
  const everyMs = spanMs(s.repeat.every);
  return {
    everyMs,
    firstAfterMs: s.firstAfter ? spanMs(s.firstAfter) : everyMs,
    maxCount: s.maxCount,
    escalateAfterMs: s.ladder[0] ? spanMs(s.ladder[0].after) : null,
  };
}
