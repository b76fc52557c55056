import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkNewWindow,
  type DelegationWindow,
  MAX_DELEGATION_HOPS,
  resolveActing,
} from '../../src/domain/delegation.js';

const w = (handlerId: string, delegateId: string, startsAt: number, endsAt: number): DelegationWindow => ({
  handlerId,
  delegateId,
  startsAt,
  endsAt,
});

const MAY = { start: 100, end: 200 };
const JUNE = { start: 200, end: 300 };

/** `p0 → p1 → … → p{hops}`, all open over the same time. */
function straightChain(hops: number, startsAt = 0, endsAt = 100): DelegationWindow[] {
  return Array.from({ length: hops }, (_, i) => w(`p${i}`, `p${i + 1}`, startsAt, endsAt));
}

const covers = (win: DelegationWindow, at: number) => win.startsAt <= at && at < win.endsAt;

/** Adds windows one by one, keeping only those checkNewWindow accepts, as the API would. */
function acceptedOnly(proposals: readonly DelegationWindow[]): DelegationWindow[] {
  const kept: DelegationWindow[] = [];
  for (const p of proposals) if (checkNewWindow(p, kept) === null) kept.push(p);
  return kept;
}

describe('resolveActing', () => {
  it('when there are no windows, then the handler acts and the chain is only the handler', () => {
    expect(resolveActing('alice', 150, [])).toEqual({ actingId: 'alice', chain: ['alice'] });
  });

  it('when a window of the handler covers the time, then the delegate acts', () => {
    const windows = [w('alice', 'bob', MAY.start, MAY.end)];
    expect(resolveActing('alice', 150, windows)).toEqual({ actingId: 'bob', chain: ['alice', 'bob'] });
  });

  it('when the time is exactly the start of a window, then the window is open (start inclusive)', () => {
    const windows = [w('alice', 'bob', MAY.start, MAY.end)];
    expect(resolveActing('alice', MAY.start, windows).actingId).toBe('bob');
  });

  it('when the time is exactly the end of a window, then the window is closed (end exclusive)', () => {
    const windows = [w('alice', 'bob', MAY.start, MAY.end)];
    expect(resolveActing('alice', MAY.end, windows)).toEqual({ actingId: 'alice', chain: ['alice'] });
    expect(resolveActing('alice', MAY.end - 1, windows).actingId).toBe('bob');
    expect(resolveActing('alice', MAY.start - 1, windows).actingId).toBe('alice');
  });

  it('when A delegates to B and B to C at the same time, then C acts and the chain is A, B, C', () => {
    const windows = [w('b', 'c', 0, 100), w('a', 'b', 0, 100)];
    expect(resolveActing('a', 50, windows)).toEqual({ actingId: 'c', chain: ['a', 'b', 'c'] });
  });

  it('when only windows of other times or of other handlers exist (e.g. revoked ones removed), then they are ignored', () => {
    const windows = [
      w('alice', 'bob', JUNE.start, JUNE.end),
      w('alice', 'carol', 0, MAY.start),
      w('dave', 'erin', MAY.start, MAY.end),
    ];
    expect(resolveActing('alice', 150, windows)).toEqual({ actingId: 'alice', chain: ['alice'] });
    // the same handler's next window takes over from the moment the previous one ends
    expect(resolveActing('alice', JUNE.start, windows).actingId).toBe('bob');
  });

  it('when the middle of a chain is not open at that time, then the chain stops there', () => {
    const windows = [w('a', 'b', 0, 100), w('b', 'c', 100, 200)];
    expect(resolveActing('a', 50, windows)).toEqual({ actingId: 'b', chain: ['a', 'b'] });
    expect(resolveActing('a', 150, windows)).toEqual({ actingId: 'a', chain: ['a'] });
  });

  it('when a stored cycle A→B→A is open, then it stops at B without looping', () => {
    const windows = [w('a', 'b', 0, 100), w('b', 'a', 0, 100)];
    expect(resolveActing('a', 50, windows)).toEqual({ actingId: 'b', chain: ['a', 'b'] });
    expect(resolveActing('b', 50, windows)).toEqual({ actingId: 'a', chain: ['b', 'a'] });
  });

  it('when a stored window delegates a handler to themselves, then the handler acts', () => {
    expect(resolveActing('a', 50, [w('a', 'a', 0, 100)])).toEqual({ actingId: 'a', chain: ['a'] });
  });

  it('when a stored cycle enters further down (A→B→C→B), then it stops at C', () => {
    const windows = [w('a', 'b', 0, 100), w('b', 'c', 0, 100), w('c', 'b', 0, 100)];
    expect(resolveActing('a', 50, windows)).toEqual({ actingId: 'c', chain: ['a', 'b', 'c'] });
  });

  it('when a stored chain is longer than the maximum, then it stops after MAX_DELEGATION_HOPS hops', () => {
    const windows = straightChain(MAX_DELEGATION_HOPS + 3);
    const acting = resolveActing('p0', 50, windows);
    expect(acting.chain).toHaveLength(MAX_DELEGATION_HOPS + 1);
    expect(acting.chain).toEqual(Array.from({ length: MAX_DELEGATION_HOPS + 1 }, (_, i) => `p${i}`));
    expect(acting.actingId).toBe(`p${MAX_DELEGATION_HOPS}`);
  });

  it('when a chain has exactly MAX_DELEGATION_HOPS hops, then it is followed to its end', () => {
    const acting = resolveActing('p0', 50, straightChain(MAX_DELEGATION_HOPS));
    expect(acting.actingId).toBe(`p${MAX_DELEGATION_HOPS}`);
    expect(acting.chain).toHaveLength(MAX_DELEGATION_HOPS + 1);
  });
});

describe('checkNewWindow', () => {
  it('when nothing else exists, then a window is accepted', () => {
    expect(checkNewWindow(w('a', 'b', 0, 100), [])).toBeNull();
  });

  it('when A→B is in May and B→A is in June, then both are accepted', () => {
    const may = w('a', 'b', MAY.start, MAY.end);
    const june = w('b', 'a', JUNE.start, JUNE.end);
    expect(checkNewWindow(june, [may])).toBeNull();
    expect(checkNewWindow(may, [june])).toBeNull();
  });

  it('when A→B exists and B→A would overlap it in time, then DELEGATION_CYCLE is refused', () => {
    const existing = [w('a', 'b', 0, 100)];
    expect(checkNewWindow(w('b', 'a', 99, 150), existing)).toBe('DELEGATION_CYCLE');
    expect(checkNewWindow(w('b', 'a', -50, 1), existing)).toBe('DELEGATION_CYCLE');
  });

  it('when B→A only touches A→B end to start, then it is accepted (ends are exclusive)', () => {
    const existing = [w('a', 'b', 0, 100)];
    expect(checkNewWindow(w('b', 'a', 100, 200), existing)).toBeNull();
    expect(checkNewWindow(w('b', 'a', -100, 0), existing)).toBeNull();
  });

  it('when A→B and B→C exist and C→A would overlap them, then DELEGATION_CYCLE is refused', () => {
    const existing = [w('a', 'b', 0, 100), w('b', 'c', 0, 100)];
    expect(checkNewWindow(w('c', 'a', 10, 20), existing)).toBe('DELEGATION_CYCLE');
  });

  it('when a handler would delegate to themselves, then DELEGATION_CYCLE is refused', () => {
    expect(checkNewWindow(w('a', 'a', 0, 100), [])).toBe('DELEGATION_CYCLE');
  });

  it('when the same handler already has a window overlapping in time, then OVERLAPS_OWN_WINDOW is refused', () => {
    const existing = [w('a', 'b', 0, 100)];
    expect(checkNewWindow(w('a', 'c', 50, 150), existing)).toBe('OVERLAPS_OWN_WINDOW');
    expect(checkNewWindow(w('a', 'b', 0, 100), existing)).toBe('OVERLAPS_OWN_WINDOW');
    expect(checkNewWindow(w('a', 'c', 10, 20), existing)).toBe('OVERLAPS_OWN_WINDOW');
  });

  it('when the same handler has windows that only touch or another handler overlaps, then it is accepted', () => {
    const existing = [w('a', 'b', 0, 100), w('x', 'y', 0, 100)];
    expect(checkNewWindow(w('a', 'c', 100, 200), existing)).toBeNull();
    expect(checkNewWindow(w('a', 'c', -10, 0), existing)).toBeNull();
    expect(checkNewWindow(w('z', 'c', 0, 100), existing)).toBeNull();
  });

  it('when the chain through the new window would exceed the maximum, then DELEGATION_CHAIN_TOO_LONG is refused', () => {
    // p0 → … → p{MAX} is already MAX hops; one more at the end is too many
    const existing = straightChain(MAX_DELEGATION_HOPS);
    const last = `p${MAX_DELEGATION_HOPS}`;
    expect(checkNewWindow(w(last, 'q', 10, 20), existing)).toBe('DELEGATION_CHAIN_TOO_LONG');
    // … and so is one more at the front
    expect(checkNewWindow(w('q', 'p0', 10, 20), existing)).toBe('DELEGATION_CHAIN_TOO_LONG');
  });

  it('when the new window joins two chains whose total would exceed the maximum, then DELEGATION_CHAIN_TOO_LONG is refused', () => {
    const front = Array.from({ length: 3 }, (_, i) => w(`f${i}`, `f${i + 1}`, 0, 100)); // f0 → f3: 3 hops
    const back = Array.from({ length: MAX_DELEGATION_HOPS - 3 }, (_, i) => w(`b${i}`, `b${i + 1}`, 0, 100));
    // 3 + 1 + (MAX - 3) = MAX + 1 hops
    expect(checkNewWindow(w('f3', 'b0', 0, 100), [...front, ...back])).toBe('DELEGATION_CHAIN_TOO_LONG');
    // dropping one hop at the back leaves exactly MAX hops, which is fine
    expect(checkNewWindow(w('f3', 'b0', 0, 100), [...front, ...back.slice(0, -1)])).toBeNull();
  });

  it('when the chain through the new window has exactly MAX_DELEGATION_HOPS hops, then it is accepted', () => {
    const existing = straightChain(MAX_DELEGATION_HOPS - 1);
    expect(
      checkNewWindow(w(`p${MAX_DELEGATION_HOPS - 1}`, `p${MAX_DELEGATION_HOPS}`, 0, 100), existing),
    ).toBeNull();
  });

  it('when the long chain is at another time, then it does not count against the new window', () => {
    const existing = straightChain(MAX_DELEGATION_HOPS, 0, 100);
    expect(checkNewWindow(w(`p${MAX_DELEGATION_HOPS}`, 'q', 100, 200), existing)).toBeNull();
  });
});

// Small alphabets and small integer times, so that handlers, delegates and times collide often. Eight people,
// not six: a chain longer than MAX_DELEGATION_HOPS (5) needs at least seven distinct people.
const PEOPLE = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const personArb = fc.constantFrom(...PEOPLE);
const windowArb = fc
  .record({
    handlerId: personArb,
    delegateId: personArb,
    startsAt: fc.integer({ min: 0, max: 12 }),
    length: fc.integer({ min: 1, max: 12 }),
  })
  .map(({ handlerId, delegateId, startsAt, length }) =>
    w(handlerId, delegateId, startsAt, startsAt + length),
  );
/** A chain of proposals through 5 to 8 distinct people with long, mostly overlapping windows. */
const chainProposalsArb = fc
  .tuple(
    fc.shuffledSubarray(PEOPLE, { minLength: 5 }),
    fc.array(
      fc.record({ startsAt: fc.integer({ min: 0, max: 8 }), length: fc.integer({ min: 4, max: 14 }) }),
      {
        minLength: PEOPLE.length,
        maxLength: PEOPLE.length,
      },
    ),
  )
  .map(([order, times]) =>
    order
      .slice(1)
      .map((to, i) => w(order[i]!, to, times[i]!.startsAt, times[i]!.startsAt + times[i]!.length)),
  );
/**
 * Proposals in random order: random noise mixed with a long chain, so that all three refusals
 * (including DELEGATION_CHAIN_TOO_LONG) and accepted chains of the maximum length come up.
 */
const proposalsArb = fc
  .tuple(fc.array(windowArb, { maxLength: 20 }), chainProposalsArb)
  .chain(([noise, chain]) => {
    const all = [...noise, ...chain];
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
  });
/** Arbitrary data, as it might come from anywhere: cycles, self-delegation, overlapping own windows, empty and inverted windows. */
const anyWindowArb = fc
  .record({
    handlerId: personArb,
    delegateId: personArb,
    startsAt: fc.integer({ min: -2, max: 14 }),
    endsAt: fc.integer({ min: -2, max: 14 }),
  })
  .map(({ handlerId, delegateId, startsAt, endsAt }) => w(handlerId, delegateId, startsAt, endsAt));
/** Arbitrary data that also holds a stored chain through 6 to 8 people (longer than the maximum when 7+). */
const anyWindowsArb = fc.oneof(
  fc.array(anyWindowArb, { maxLength: 40 }),
  fc
    .tuple(fc.array(anyWindowArb, { maxLength: 20 }), fc.shuffledSubarray(PEOPLE, { minLength: 6 }))
    .map(([noise, order]) => [...noise, ...order.slice(1).map((to, i) => w(order[i]!, to, 0, 14))]),
);
const atArb = fc.integer({ min: -1, max: 26 });

describe('delegation properties', () => {
  it('for windows accepted one by one, the chain at any time has no repeats, at most MAX+1 people, only open windows, and ends where no window is open', () => {
    fc.assert(
      fc.property(proposalsArb, personArb, atArb, (proposals, handler, at) => {
        const windows = acceptedOnly(proposals);
        const { actingId, chain } = resolveActing(handler, at, windows);
        expect(chain[0]).toBe(handler);
        expect(actingId).toBe(chain[chain.length - 1]);
        expect(new Set(chain).size).toBe(chain.length);
        expect(chain.length).toBeLessThanOrEqual(MAX_DELEGATION_HOPS + 1);
        for (let i = 0; i + 1 < chain.length; i++) {
          const hop = windows.filter(
            (win) => win.handlerId === chain[i] && win.delegateId === chain[i + 1] && covers(win, at),
          );
          expect(hop.length).toBeGreaterThan(0);
        }
        // accepted data has no cycle and no over-long chain, so the chain ends naturally:
        // no window of the acting person is open at that time
        expect(windows.some((win) => win.handlerId === actingId && covers(win, at))).toBe(false);
        // and no handler has two windows open at once
        for (const person of PEOPLE) {
          expect(
            windows.filter((win) => win.handlerId === person && covers(win, at)).length,
          ).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('for windows accepted one by one, the open windows at every time form no cycle and no chain longer than MAX hops', () => {
    // checked by walking the graph of open windows directly, not through resolveActing
    fc.assert(
      fc.property(proposalsArb, (proposals) => {
        const windows = acceptedOnly(proposals);
        for (let at = 0; at <= 25; at++) {
          const open = windows.filter((win) => covers(win, at));
          const next = new Map(open.map((win) => [win.handlerId, win.delegateId]));
          expect(next.size).toBe(open.length); // one open window per handler
          for (const start of next.keys()) {
            let current = start;
            const seen = new Set([current]);
            let hops = 0;
            while (next.has(current)) {
              current = next.get(current)!;
              hops++;
              expect(seen.has(current)).toBe(false);
              seen.add(current);
              expect(hops).toBeLessThanOrEqual(MAX_DELEGATION_HOPS);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('for arbitrary (even cyclic) window sets, resolveActing never throws, terminates, and keeps the chain within MAX+1 distinct people', () => {
    fc.assert(
      fc.property(anyWindowsArb, personArb, atArb, (windows, handler, at) => {
        let acting: ReturnType<typeof resolveActing> | undefined;
        expect(() => {
          acting = resolveActing(handler, at, windows);
        }).not.toThrow();
        const { actingId, chain } = acting!;
        expect(chain[0]).toBe(handler);
        expect(actingId).toBe(chain[chain.length - 1]);
        expect(chain.length).toBeGreaterThanOrEqual(1);
        expect(chain.length).toBeLessThanOrEqual(MAX_DELEGATION_HOPS + 1);
        expect(new Set(chain).size).toBe(chain.length);
        for (let i = 0; i + 1 < chain.length; i++) {
          expect(
            windows.some(
              (win) => win.handlerId === chain[i] && win.delegateId === chain[i + 1] && covers(win, at),
            ),
          ).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('for accepted window sets, the acting person is the handler exactly when no window of the handler covers the time', () => {
    fc.assert(
      fc.property(proposalsArb, personArb, atArb, (proposals, handler, at) => {
        const windows = acceptedOnly(proposals);
        const hasOpenWindow = windows.some((win) => win.handlerId === handler && covers(win, at));
        expect(resolveActing(handler, at, windows).actingId === handler).toBe(!hasOpenWindow);
      }),
      { numRuns: 1000 },
    );
  });

  it('for arbitrary window sets without self-delegation, the acting person is the handler exactly when no window of the handler covers the time', () => {
    const noSelf = anyWindowArb.filter((win) => win.handlerId !== win.delegateId);
    fc.assert(
      fc.property(fc.array(noSelf, { maxLength: 40 }), personArb, atArb, (windows, handler, at) => {
        const hasOpenWindow = windows.some((win) => win.handlerId === handler && covers(win, at));
        expect(resolveActing(handler, at, windows).actingId === handler).toBe(!hasOpenWindow);
      }),
      { numRuns: 1000 },
    );
  });

  it('a window that shares no time with any existing window and does not delegate to its own handler is accepted', () => {
    fc.assert(
      fc.property(windowArb, fc.array(windowArb, { maxLength: 20 }), (proposed, existing) => {
        fc.pre(proposed.handlerId !== proposed.delegateId);
        const apart = existing.filter(
          (win) => win.endsAt <= proposed.startsAt || proposed.endsAt <= win.startsAt,
        );
        expect(checkNewWindow(proposed, apart)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('checkNewWindow never throws and returns null or one of the three problems for arbitrary data', () => {
    fc.assert(
      fc.property(anyWindowArb, fc.array(anyWindowArb, { maxLength: 15 }), (proposed, existing) => {
        const problem = checkNewWindow(proposed, existing);
        expect([null, 'OVERLAPS_OWN_WINDOW', 'DELEGATION_CYCLE', 'DELEGATION_CHAIN_TOO_LONG']).toContain(
          problem,
        );
      }),
      { numRuns: 500 },
    );
  });
});
