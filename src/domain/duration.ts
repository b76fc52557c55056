import { Duration } from 'luxon';

export class DurationError extends Error {
  readonly code = 'INVALID_DURATION';
}

/** Fixed-length ISO 8601 durations only: months and years have no fixed length. */
export function parseDuration(text: string): number {
  const d = Duration.fromISO(text);
  if (!d.isValid) throw new DurationError(`"${text}" is not an ISO 8601 duration such as PT30M or P1D`);
  if (d.years !== 0 || d.quarters !== 0 || d.months !== 0) {
    throw new DurationError(`"${text}" uses months or years, which have no fixed length; use weeks or days`);
  }
  if (Object.values(d.toObject()).some((part) => part < 0)) {
    throw new DurationError(`"${text}" has a negative part; a duration must be longer than zero`);
  }
  const ms = d.toMillis();
  if (!Number.isFinite(ms) || ms <= 0) throw new DurationError(`"${text}" must be longer than zero`);
  return ms;
}

export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}
