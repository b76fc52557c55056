/** How a callback that was not acknowledged is tried again. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** How long after its budget started a callback is still retried; then it is marked failed. */
  retryForMs: number;
}

/**
 * Exponential with "equal jitter": the n-th failure waits between half and all of min(cap, base·2ⁿ⁻¹), so
 * dispatchers that failed together do not retry together, and no wait exceeds the cap.
 */
export function backoffDelay(failures: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(p.capMs, p.baseMs * 2 ** Math.min(Math.max(failures, 1) - 1, 52));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export type NextStep = { giveUp: true } | { giveUp: false; retryAt: number };

/**
 * After a failed attempt: there is no attempt limit, only a time budget, so a source that is down for
 * hours gets every callback once it is back.
 */
export function nextStep(
  failures: number,
  budgetStartedAt: number,
  now: number,
  p: BackoffPolicy,
  random: () => number = Math.random,
): NextStep {
  if (now - budgetStartedAt >= p.retryForMs) return { giveUp: true };
  return { giveUp: false, retryAt: now + backoffDelay(failures, p, random) };
}
