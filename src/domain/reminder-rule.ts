import { DurationError, parseDuration } from './duration.js';
import type { Priority } from './matter.js';

/** The first rule shape of the HTTP contract; every field but `every` is optional. */
export interface ReminderRule {
  /** Delay from assignment to the first reminder; defaults to `every`. */
  firstAfter?: string;
  every: string;
  /** Reminders per handler assignment; unlimited when absent. */
  maxCount?: number;
  /** Measured from the due time or the assignment, whichever is later. */
  escalateAfter?: string;
}

export interface ParsedRule {
  firstAfterMs: number;
  everyMs: number;
  maxCount: number | null;
  escalateAfterMs: number | null;
}

export const MIN_INTERVAL_MS = 1000;

const DEFAULT_RULES: Record<Priority, ReminderRule> = {
  urgent: { every: 'PT15M', maxCount: 16, escalateAfter: 'PT1H' },
  high: { every: 'PT1H', maxCount: 8, escalateAfter: 'PT4H' },
  normal: { every: 'PT4H', maxCount: 6, escalateAfter: 'P1D' },
  low: { every: 'P1D', maxCount: 5 },
};

export function defaultRuleFor(priority: Priority): ReminderRule {
  return { ...DEFAULT_RULES[priority] };
}

export class RuleError extends Error {
  readonly code = 'INVALID_REMINDER_RULE';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

function durationField(rule: ReminderRule, field: 'firstAfter' | 'every' | 'escalateAfter'): number | null {
  const value = rule[field];
  if (value === undefined) return null;
  try {
    const ms = parseDuration(value);
    if (ms < MIN_INTERVAL_MS) throw new RuleError(`reminderRule.${field} must be at least 1 second`, field);
    return ms;
  } catch (err) {
    if (err instanceof DurationError) throw new RuleError(`reminderRule.${field}: ${err.message}`, field);
    throw err;
  }
}

export function parseRule(rule: ReminderRule): ParsedRule {
  const everyMs = durationField(rule, 'every');
  if (everyMs === null) throw new RuleError('reminderRule.every is required', 'every');
  if (rule.maxCount !== undefined && (!Number.isInteger(rule.maxCount) || rule.maxCount < 0)) {
    throw new RuleError('reminderRule.maxCount must be a non-negative integer', 'maxCount');
  }
  return {
    everyMs,
    firstAfterMs: durationField(rule, 'firstAfter') ?? everyMs,
    maxCount: rule.maxCount ?? null,
    escalateAfterMs: durationField(rule, 'escalateAfter'),
  };
}
