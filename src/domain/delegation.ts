/** An out-of-office window: from `startsAt` (inclusive) to `endsAt` (exclusive), the delegate acts for the handler. */
export interface DelegationWindow {
  handlerId: string;
  delegateId: string;
  startsAt: number;
  endsAt: number;
}

/** Longest chain of stand-ins followed; a longer one is refused when it is set up. */
export const MAX_DELEGATION_HOPS = 5;

const covers = (w: DelegationWindow, at: number) => w.startsAt <= at && at < w.endsAt;
const overlaps = (a: DelegationWindow, b: Pick<DelegationWindow, 'startsAt' | 'endsAt'>) =>
  a.startsAt < b.endsAt && b.startsAt < a.endsAt;

export interface Acting {
  /** Who receives the handler's notices and may act for them at that time. */
  actingId: string;
  /** The handler first, then each stand-in in turn. */
  chain: string[];
}

/**
 * Follows the windows open at `at`. A stored cycle or an over-long chain (both refused on entry,
 * but data can come from anywhere) stops at the last person reached, never loops.
 */
export function resolveActing(handlerId: string, at: number, windows: readonly DelegationWindow[]): Acting {
  const chain = [handlerId];
  for (let hop = 0; hop < MAX_DELEGATION_HOPS; hop++) {
    const current = chain[chain.length - 1]!;
    const open = windows.find((w) => w.handlerId === current && covers(w, at));
    if (!open || chain.includes(open.delegateId)) break;
    chain.push(open.delegateId);
  }
  return { actingId: chain[chain.length - 1]!, chain };
}

export type WindowProblem = 'OVERLAPS_OWN_WINDOW' | 'DELEGATION_CYCLE' | 'DELEGATION_CHAIN_TOO_LONG';

/**
 * Why a new window cannot be added to `existing` (the live windows of everyone), or null.
 * Chains are judged over the windows that share time with the new one, so A→B in May and
 * B→A in June are fine, while both in May would loop.
 */
export function checkNewWindow(
  proposed: DelegationWindow,
  existing: readonly DelegationWindow[],
): WindowProblem | null {
  if (existing.some((w) => w.handlerId === proposed.handlerId && overlaps(w, proposed))) {
    return 'OVERLAPS_OWN_WINDOW';
  }
  const concurrent = existing.filter((w) => overlaps(w, proposed));
  const forward = longestPath(
    proposed.delegateId,
    concurrent,
    (w) => [w.handlerId, w.delegateId],
    proposed.handlerId,
  );
  if (forward === 'cycle') return 'DELEGATION_CYCLE';
  const backward = longestPath(proposed.handlerId, concurrent, (w) => [w.delegateId, w.handlerId], null);
  if (backward === 'cycle') return 'DELEGATION_CYCLE';
  return forward + backward + 1 > MAX_DELEGATION_HOPS ? 'DELEGATION_CHAIN_TOO_LONG' : null;
}

/** Hops of the longest walk from `start` along `edge`; 'cycle' when it can reach `target`. */
function longestPath(
  start: string,
  windows: readonly DelegationWindow[],
  edge: (w: DelegationWindow) => [string, string],
  target: string | null,
  seen: ReadonlySet<string> = new Set(),
): number | 'cycle' {
  if (start === target) return 'cycle';
  if (seen.has(start)) return 0;
  const next = new Set([...seen, start]);
  let longest = 0;
  for (const w of windows) {
    const [from, to] = edge(w);
    if (from !== start) continue;
    const rest = longestPath(to, windows, edge, target, next);
    if (rest === 'cycle') return 'cycle';
    longest = Math.max(longest, rest + 1);
  }
  return longest;
}
