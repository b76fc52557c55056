/** How many reminders one person may get across all their matters; the rest wait for a digest. */
export interface ReminderCaps {
  perHour: number;
  perDay: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** While over a daily cap, folded reminders are still summed up at least this often. */
export const DIGEST_MAX_DELAY_MS = HOUR_MS;

/** Only repeats count: the first notice of a matter, a transfer or an exception is never held back. */
export const CAPPED_TYPES: readonly string[] = ['matter.reminder', 'matter.escalated'];

export const isCappedType = (type: string): boolean => CAPPED_TYPES.includes(type);

export class CapsError extends Error {
  constructor(
    message: string,
    readonly field: 'perHour' | 'perDay',
  ) {
    super(message);
  }
}

export const MAX_CAP = 10_000;

export function checkReminderCaps(caps: ReminderCaps): ReminderCaps {
  for (const field of ['perHour', 'perDay'] as const) {
    const n = caps[field];
    if (!Number.isInteger(n) || n < 1 || n > MAX_CAP) {
      throw new CapsError(`reminderCaps.${field} must be a whole number from 1 to ${MAX_CAP}`, field);
    }
  }
  if (caps.perHour > caps.perDay) {
    throw new CapsError('reminderCaps.perHour cannot exceed reminderCaps.perDay', 'perHour');
  }
  return caps;
}

export type CapDecision = { send: true } | { send: false; digestAt: number };

/**
 * Whether one more reminder fits, given when the recipient's counted reminders went out (newest first,
 * at least the last `perDay` of the past day). When it does not, the digest goes when one would fit
 * again, but no later than DIGEST_MAX_DELAY_MS from now.
 */
export function decideReminder(
  sentNewestFirst: readonly number[],
  caps: ReminderCaps,
  now: number,
): CapDecision {
  const lastHour = sentNewestFirst.filter((t) => t > now - HOUR_MS);
  const lastDay = sentNewestFirst.filter((t) => t > now - DAY_MS);
  const freesAt = [
    lastHour.length >= caps.perHour ? lastHour[caps.perHour - 1]! + HOUR_MS : now,
    lastDay.length >= caps.perDay ? lastDay[caps.perDay - 1]! + DAY_MS : now,
  ];
  const fitsAt = Math.max(...freesAt);
  if (fitsAt <= now) return { send: true };
  return { send: false, digestAt: Math.min(fitsAt, now + DIGEST_MAX_DELAY_MS) };
}
