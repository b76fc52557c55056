import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackoffPolicy, backoffDelay, nextStep } from '../../src/callbacks/backoff.js';

const HOUR = 3_600_000;
/** What a deployment runs with: CALLBACK_BACKOFF_BASE_MS, CALLBACK_BACKOFF_CAP_MS, CALLBACK_RETRY_FOR. */
const DEFAULT: BackoffPolicy = { baseMs: 1_000, capMs: 5 * 60_000, retryForMs: 24 * HOUR };

const policies = fc
  .record({
    baseMs: fc.integer({ min: 1, max: 60_000 }),
    // Caps under 30 s would only make the simulation long; the delay property above covers them.
    capMs: fc.integer({ min: 30_000, max: 15 * 60_000 }),
    retryForMs: fc.integer({ min: 24 * HOUR, max: 3 * 24 * HOUR }),
  })
  .filter((p) => p.baseMs <= p.capMs);
const random01 = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

/**
 * Runs the schedule against a receiver that never answers: each attempt takes `attemptMs` (up to a
 * timeout), then `nextStep` decides. Returns every attempt's start and when it gave up.
 */
function simulate(p: BackoffPolicy, attemptMs: number, random: () => number) {
  const starts: number[] = [];
  let longestWait = 0;
  let now = 0;
  for (let failures = 1; ; failures++) {
    starts.push(now);
    now += attemptMs;
    const step = nextStep(failures, 0, now, p, random);
    if (step.giveUp) return { starts, gaveUpAt: now, longestWait };
    longestWait = Math.max(longestWait, step.retryAt - now);
    now = step.retryAt;
  }
}

describe('callback backoff', () => {
  it('when a callback keeps failing, then no wait ever exceeds the cap and none is shorter than half the step', () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 1, max: 5_000 }), random01, (p, failures, r) => {
        const delay = backoffDelay(failures, p, () => r);
        const step = Math.min(p.capMs, p.baseMs * 2 ** Math.min(failures - 1, 52));
        expect(delay).toBeLessThanOrEqual(p.capMs);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(step / 2));
      }),
    );
  });

  it('when a receiver never answers, then attempts go on for the whole budget (at least 24 h) before giving up', () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 0, max: 30_000 }), random01, (p, attemptMs, r) => {
        const { gaveUpAt, longestWait } = simulate(p, attemptMs, () => r);
        expect(gaveUpAt).toBeGreaterThanOrEqual(24 * HOUR);
        expect(gaveUpAt).toBeGreaterThanOrEqual(p.retryForMs);
        // Never far apart: a receiver back at any moment is tried within one cap and one attempt.
        expect(longestWait).toBeLessThanOrEqual(p.capMs);
      }),
      { numRuns: 30 },
    );
  });

  it('when a source is down for an hour with the default settings, then it is tried again within 5 min of coming back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), random01, (attemptMs, r) => {
        const { starts } = simulate(DEFAULT, attemptMs, () => r);
        const firstAfterOutage = starts.find((t) => t >= HOUR);
        expect(firstAfterOutage).toBeDefined();
        expect(firstAfterOutage! - HOUR).toBeLessThanOrEqual(DEFAULT.capMs + attemptMs);
      }),
      { numRuns: 20 },
    );
  });

  it('doubles from the base: 1 s, 2 s, 4 s … with the default settings and no jitter at the top', () => {
    const top = () => 1 - Number.EPSILON;
    expect([1, 2, 3, 4, 10, 20].map((n) => backoffDelay(n, DEFAULT, top))).toEqual([
      1_000, 2_000, 4_000, 8_000, 300_000, 300_000,
    ]);
  });
});
