import type { SendLimit } from '../channels/channel.js';

/**
 * The earliest time at or after `now` that one more send to a target keeps every limit, given the
 * target's granted slots (newest first). Slots are granted in order, so only the newest windows matter.
 */
export function nextSendSlot(
  slotsNewestFirst: readonly number[],
  limits: readonly SendLimit[],
  now: number,
): number {
  let at = Math.max(now, slotsNewestFirst[0] ?? now);
  for (const { max, perMs } of limits) {
    const bound = slotsNewestFirst[max - 1];
    if (bound !== undefined) at = Math.max(at, bound + perMs);
  }
  return at;
}

/** How far back a target's slots still matter. */
export const longestWindow = (limits: readonly SendLimit[]): number =>
  Math.max(0, ...limits.map((l) => l.perMs));

/** How many slots the check needs to see. */
export const deepestLimit = (limits: readonly SendLimit[]): number =>
  Math.max(0, ...limits.map((l) => l.max));
