/**
 * Remembers which signed callbacks were already accepted. Vendors sign only a timestamp window, so a
 * captured request stays valid until its window closes; the route asks the guard before acting.
 */
export interface ReplayGuard {
  /** True the first time `key` is offered before `expiresAt`; false for every repeat while it is remembered. */
  firstSeen(key: string, expiresAt: Date): Promise<boolean>;
}

/** For tests and single-process use; a Postgres-backed guard serves the real routes. */
export class InMemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async firstSeen(key: string, expiresAt: Date): Promise<boolean> {
    const nowMs = this.now().getTime();
    for (const [k, until] of this.seen) if (until <= nowMs) this.seen.delete(k);
    if (this.seen.has(key)) return false;
    this.seen.set(key, expiresAt.getTime());
    return true;
  }
}

/** Whether a vendor timestamp lies within `toleranceSeconds` of now, in either direction (clock skew cuts both ways). */
export function checkFresh(timestampSeconds: number, nowSeconds: number, toleranceSeconds: number): boolean {
  return (
    Number.isFinite(timestampSeconds) &&
    Number.isFinite(nowSeconds) &&
    Number.isFinite(toleranceSeconds) &&
    toleranceSeconds >= 0 &&
    Math.abs(nowSeconds - timestampSeconds) <= toleranceSeconds
  );
}

/** After this instant `checkFresh` refuses the request anyway, so the guard may forget it. */
export function replayExpiry(timestampSeconds: number, toleranceSeconds: number): Date {
  return new Date((timestampSeconds + toleranceSeconds) * 1000);
}
