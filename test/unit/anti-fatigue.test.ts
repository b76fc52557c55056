import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SendLimit } from '../../src/channels/channel.js';
import {
  CapsError,
  checkReminderCaps,
  DIGEST_MAX_DELAY_MS,
  decideReminder,
  isCappedType,
  type ReminderCaps,
} from '../../src/domain/reminder-caps.js';
import { nextSendSlot } from '../../src/domain/send-limits.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-30T01:00:00Z');

/** Feeds reminders asked for at `times` through the cap, as the database would, newest first. */
function run(
  times: number[],
  caps: ReminderCaps,
): { sent: number[]; held: { at: number; digestAt: number }[] } {
  const sent: number[] = [];
  const held: { at: number; digestAt: number }[] = [];
  for (const at of times) {
    const decision = decideReminder([...sent].reverse(), caps, at);
    if (decision.send) sent.push(at);
    else held.push({ at, digestAt: decision.digestAt });
  }
  return { sent, held };
}

const maxInWindow = (times: number[], window: number): number =>
  Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + window).length));

describe('reminder caps', () => {
  it('only reminders and escalations count; a new matter, a transfer or an exception always goes out', () => {
    expect(isCappedType('matter.reminder')).toBe(true);
    expect(isCappedType('matter.escalated')).toBe(true);
    for (const t of ['matter.created', 'matter.transferred', 'matter.exception_filed', 'change.approved']) {
      expect(isCappedType(t)).toBe(false);
    }
  });

  it('with 3 an hour, the 4th reminder within the hour is held until the 1st is an hour old', () => {
    const times = [0, 10, 20, 30].map((m) => T0 + m * MIN);
    const { sent, held } = run(times, { perHour: 3, perDay: 100 });
    expect(sent).toEqual(times.slice(0, 3));
    expect(held).toEqual([{ at: T0 + 30 * MIN, digestAt: T0 + HOUR }]);
  });

  it('an hour after the first reminder there is room again', () => {
    const times = [0, 10, 20, 60].map((m) => T0 + m * MIN);
    expect(run(times, { perHour: 3, perDay: 100 }).sent).toEqual(times);
  });

  it('over the daily cap the digest still comes within the hour, not the next day', () => {
    const times = Array.from({ length: 6 }, (_, i) => T0 + i * HOUR);
    const { sent, held } = run(times, { perHour: 5, perDay: 5 });
    expect(sent).toHaveLength(5);
    expect(held).toEqual([{ at: T0 + 5 * HOUR, digestAt: T0 + 5 * HOUR + DIGEST_MAX_DELAY_MS }]);
  });

  it(`never lets more through than the caps in any hour or day, and a held reminder's digest is due within the hour (2000 cases)`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 2 * DAY }), { minLength: 1, maxLength: 120 }),
        (perHour, extra, offsets) => {
          const caps = { perHour, perDay: perHour + extra };
          const times = offsets.map((o) => T0 + o).sort((a, b) => a - b);
          const { sent, held } = run(times, caps);
          expect(maxInWindow(sent, HOUR)).toBeLessThanOrEqual(caps.perHour);
          expect(maxInWindow(sent, DAY)).toBeLessThanOrEqual(caps.perDay);
          expect(sent.length + held.length).toBe(times.length);
          for (const h of held) {
            expect(h.digestAt).toBeGreaterThan(h.at);
            expect(h.digestAt).toBeLessThanOrEqual(h.at + DIGEST_MAX_DELAY_MS);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses caps that are not whole numbers from 1, or an hourly cap above the daily one, naming the field', () => {
    expect(checkReminderCaps({ perHour: 5, perDay: 20 })).toEqual({ perHour: 5, perDay: 20 });
    const fieldOf = (caps: ReminderCaps) => {
      try {
        checkReminderCaps(caps);
        return null;
      } catch (err) {
        expect(err).toBeInstanceOf(CapsError);
        return (err as CapsError).field;
      }
    };
    expect(fieldOf({ perHour: 0, perDay: 5 })).toBe('perHour');
    expect(fieldOf({ perHour: 1.5, perDay: 5 })).toBe('perHour');
    expect(fieldOf({ perHour: 2, perDay: 20_000 })).toBe('perDay');
    expect(fieldOf({ perHour: 10, perDay: 5 })).toBe('perHour');
  });
});

/** Grants one send per time in `asks`, each as early as the limits allow. */
function grantAll(asks: number[], limits: SendLimit[]): number[] {
  const granted: number[] = [];
  for (const ask of asks) granted.push(nextSendSlot([...granted].reverse(), limits, ask));
  return granted;
}

const FEISHU_BOT: SendLimit[] = [
  { max: 5, perMs: 1000 },
  { max: 100, perMs: MIN },
];

describe('channel send limits', () => {
  it('a Feishu bot gets 5 messages in the first second, the 6th one second after the 1st', () => {
    const granted = grantAll(Array(6).fill(T0), FEISHU_BOT);
    expect(granted.slice(0, 5)).toEqual(Array(5).fill(T0));
    expect(granted[5]).toBe(T0 + 1000);
  });

  it('a Feishu bot asked for 101 messages at once sends the 101st a minute after the 1st', () => {
    const granted = grantAll(Array(101).fill(T0), FEISHU_BOT);
    expect(granted[99]).toBe(T0 + 19_000);
    expect(granted[100]).toBe(T0 + MIN);
  });

  it('a WeCom or DingTalk robot (20 a minute) sends the 21st a minute after the 1st', () => {
    const granted = grantAll(Array(21).fill(T0), [{ max: 20, perMs: MIN }]);
    expect(granted[19]).toBe(T0);
    expect(granted[20]).toBe(T0 + MIN);
  });

  it('grants keep every limit in every window, come in order, never before they were asked for, and as early as allowed (2000 cases)', () => {
    const limit = fc.record({
      max: fc.integer({ min: 1, max: 25 }),
      perMs: fc.integer({ min: 1, max: 120_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(limit, { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 5 * MIN }), { minLength: 1, maxLength: 80 }),
        (limits, offsets) => {
          const asks = offsets.map((o) => T0 + o).sort((a, b) => a - b);
          const granted = grantAll(asks, limits);
          granted.forEach((g, i) => {
            expect(g).toBeGreaterThanOrEqual(asks[i]!);
            if (i > 0) expect(g).toBeGreaterThanOrEqual(granted[i - 1]!);
            const earlier = granted.slice(0, i);
            // One millisecond sooner would break a limit, or come before the ask or the previous grant.
            if (g > asks[i]! && (i === 0 || g > granted[i - 1]!)) {
              const sooner = g - 1;
              expect(
                limits.some(({ max, perMs }) => earlier.filter((t) => t > sooner - perMs).length >= max),
              ).toBe(true);
            }
          });
          for (const { max, perMs } of limits) {
            expect(maxInWindow(granted, perMs)).toBeLessThanOrEqual(max);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
