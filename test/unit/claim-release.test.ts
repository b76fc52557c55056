import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkClaim,
  checkComplete,
  checkFileException,
  checkRelease,
  checkTransfer,
} from '../../src/domain/actions.js';
import { ActionRefusal, Refusal } from '../../src/domain/errors.js';
import type { MatterState } from '../../src/domain/matter.js';
import { expectAllowed, expectRefusal, openMatter } from '../support/matter-state.js';

const groupMatter = (overrides: Partial<MatterState> = {}): MatterState =>
  openMatter({ handlerId: null, groupId: 'g', ...overrides });

/** A matter offered to group 'g' and claimed by alice. */
const claimedByAlice = (overrides: Partial<MatterState> = {}): MatterState =>
  openMatter({ handlerId: 'alice', groupId: 'g', ...overrides });

describe('checkClaim', () => {
  it('when an open group matter is unclaimed, then a member may claim it and the state is unchanged', () => {
    expectAllowed(groupMatter(), (s) => checkClaim(s, { actorId: 'bob' }));
  });

  it('when the group matter is already claimed, then a second claim is refused ALREADY_CLAIMED naming the claimant', () => {
    const err = expectRefusal(claimedByAlice(), (s) => checkClaim(s, { actorId: 'bob' }), 'ALREADY_CLAIMED');
    expect(err.message).toContain('alice');
    expect(err.message).not.toContain('(by you)');
  });

  it('when the claimant claims again, then ALREADY_CLAIMED says it was by them', () => {
    const err = expectRefusal(
      claimedByAlice(),
      (s) => checkClaim(s, { actorId: 'alice' }),
      ActionRefusal.ALREADY_CLAIMED,
    );
    expect(err.message).toContain('alice');
    expect(err.message).toContain('(by you)');
  });

  it('when the matter is not offered to a group, then claiming is refused NOT_GROUP_MATTER', () => {
    expectRefusal(openMatter(), (s) => checkClaim(s, { actorId: 'bob' }), 'NOT_GROUP_MATTER');
    expectRefusal(
      openMatter({ groupId: null }),
      (s) => checkClaim(s, { actorId: 'bob' }),
      'NOT_GROUP_MATTER',
    );
    expectRefusal(
      openMatter({ handlerId: null, groupId: null }),
      (s) => checkClaim(s, { actorId: 'bob' }),
      'NOT_GROUP_MATTER',
    );
  });

  it('when the group matter is closed, then claiming is refused MATTER_NOT_OPEN before anything else', () => {
    expectRefusal(
      groupMatter({ status: 'completed', completedBy: 'bob' }),
      (s) => checkClaim(s, { actorId: 'carol' }),
      'MATTER_NOT_OPEN',
    );
    expectRefusal(
      groupMatter({ status: 'cancelled' }),
      (s) => checkClaim(s, { actorId: 'carol' }),
      'MATTER_NOT_OPEN',
    );
    expectRefusal(
      openMatter({ status: 'cancelled', groupId: null }),
      (s) => checkClaim(s, { actorId: 'carol' }),
      'MATTER_NOT_OPEN',
    );
  });
});

describe('actions on an unclaimed group matter', () => {
  it('when nobody has claimed it, then complete is refused NOT_CLAIMED and the message names the group', () => {
    const err = expectRefusal(groupMatter(), (s) => checkComplete(s, { actorId: 'bob' }), 'NOT_CLAIMED');
    expect(err.message).toContain('g');
    expect(err.message).toContain('claim it first');
  });

  it('when nobody has claimed it, then transfer is refused NOT_CLAIMED', () => {
    expectRefusal(
      groupMatter(),
      (s) => checkTransfer(s, { actorId: 'bob', toHandlerId: 'carol', reason: 'on leave' }),
      'NOT_CLAIMED',
    );
  });

  it('when nobody has claimed it, then filing an exception is refused NOT_CLAIMED', () => {
    expectRefusal(
      groupMatter(),
      (s) =>
        checkFileException(s, { actorId: 'bob', eventType: 'delay', description: 'waiting on supplier' }),
      'NOT_CLAIMED',
    );
  });

  it('when nobody has claimed it, then even an action on behalf of someone is refused NOT_CLAIMED', () => {
    expectRefusal(
      groupMatter(),
      (s) => checkComplete(s, { actorId: 'bob', onBehalfOf: 'alice' }),
      'NOT_CLAIMED',
    );
  });
});

describe('checkRelease', () => {
  it('when the current handler releases a claimed group matter, then it is allowed (with or without a reason)', () => {
    expectAllowed(claimedByAlice(), (s) => checkRelease(s, { actorId: 'alice' }));
    expectAllowed(claimedByAlice(), (s) =>
      checkRelease(s, { actorId: 'alice', reason: 'no time this week' }),
    );
  });

  it('when a stand-in releases on behalf of the current handler, then it is allowed', () => {
    expectAllowed(claimedByAlice(), (s) => checkRelease(s, { actorId: 'bob', onBehalfOf: 'alice' }));
  });

  it('when another member releases it, then NOT_YOUR_MATTER is refused and names the handler', () => {
    const err = expectRefusal(
      claimedByAlice(),
      (s) => checkRelease(s, { actorId: 'bob' }),
      'NOT_YOUR_MATTER',
    );
    expect(err.message).toContain('alice');
  });

  it('when someone releases on behalf of a person who is not the handler, then NOT_YOUR_MATTER is refused', () => {
    expectRefusal(
      claimedByAlice(),
      (s) => checkRelease(s, { actorId: 'bob', onBehalfOf: 'carol' }),
      'NOT_YOUR_MATTER',
    );
  });

  it('when the matter is unclaimed, then release is refused NOT_CLAIMED', () => {
    expectRefusal(groupMatter(), (s) => checkRelease(s, { actorId: 'alice' }), 'NOT_CLAIMED');
  });

  it('when the matter is not a group matter, then release is refused NOT_GROUP_MATTER even by its handler', () => {
    expectRefusal(openMatter(), (s) => checkRelease(s, { actorId: 'alice' }), 'NOT_GROUP_MATTER');
  });

  it('when the matter is closed, then release is refused MATTER_NOT_OPEN', () => {
    expectRefusal(
      claimedByAlice({ status: 'completed', completedBy: 'alice' }),
      (s) => checkRelease(s, { actorId: 'alice' }),
      'MATTER_NOT_OPEN',
    );
  });

  it('when the reason is not text or longer than 4000 characters, then INVALID_ACTION is refused', () => {
    expectRefusal(
      claimedByAlice(),
      (s) => checkRelease(s, { actorId: 'alice', reason: 'x'.repeat(4001) }),
      'INVALID_ACTION',
    );
    expectRefusal(
      claimedByAlice(),
      (s) => checkRelease(s, { actorId: 'alice', reason: 42 as any }),
      'INVALID_ACTION',
    );
  });
});

describe('acting on behalf of the handler (onBehalfOf)', () => {
  it('when a stand-in completes with onBehalfOf the handler, then it is allowed', () => {
    expectAllowed(openMatter(), (s) => checkComplete(s, { actorId: 'bob', onBehalfOf: 'alice' }));
    expectAllowed(claimedByAlice(), (s) =>
      checkComplete(s, { actorId: 'bob', onBehalfOf: 'alice', outcome: 'approved' }),
    );
  });

  it('when a stand-in transfers with onBehalfOf the handler, then it is allowed, even to the stand-in', () => {
    expectAllowed(openMatter(), (s) =>
      checkTransfer(s, {
        actorId: 'bob',
        onBehalfOf: 'alice',
        toHandlerId: 'carol',
        reason: 'alice is away',
      }),
    );
    expectAllowed(claimedByAlice(), (s) =>
      checkTransfer(s, { actorId: 'bob', onBehalfOf: 'alice', toHandlerId: 'bob', reason: 'taking it over' }),
    );
  });

  it('when a stand-in transfers on behalf of the handler back to the handler, then TRANSFER_TO_SELF is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkTransfer(s, { actorId: 'bob', onBehalfOf: 'alice', toHandlerId: 'alice', reason: 'x' }),
      'TRANSFER_TO_SELF',
    );
  });

  it('when a stand-in files an exception with onBehalfOf the handler, then it is allowed', () => {
    expectAllowed(openMatter(), (s) =>
      checkFileException(s, {
        actorId: 'bob',
        onBehalfOf: 'alice',
        eventType: 'delay',
        description: 'supplier late',
      }),
    );
  });

  it('when onBehalfOf names someone other than the handler, then complete, transfer and exception are refused NOT_YOUR_MATTER', () => {
    for (const state of [openMatter(), claimedByAlice()]) {
      expectRefusal(
        state,
        (s) => checkComplete(s, { actorId: 'bob', onBehalfOf: 'carol' }),
        'NOT_YOUR_MATTER',
      );
      expectRefusal(
        state,
        (s) => checkTransfer(s, { actorId: 'bob', onBehalfOf: 'carol', toHandlerId: 'dave', reason: 'away' }),
        'NOT_YOUR_MATTER',
      );
      expectRefusal(
        state,
        (s) =>
          checkFileException(s, {
            actorId: 'bob',
            onBehalfOf: 'carol',
            eventType: 'delay',
            description: 'late',
          }),
        'NOT_YOUR_MATTER',
      );
    }
  });

  it('when the handler themself names someone else in onBehalfOf, then it is refused NOT_YOUR_MATTER', () => {
    expectRefusal(
      openMatter(),
      (s) => checkComplete(s, { actorId: 'alice', onBehalfOf: 'carol' }),
      'NOT_YOUR_MATTER',
    );
  });

  it('when a stand-in acts on behalf of the handler of a closed matter, then MATTER_NOT_OPEN is refused', () => {
    expectRefusal(
      openMatter({ status: 'completed', completedBy: 'alice' }),
      (s) => checkComplete(s, { actorId: 'bob', onBehalfOf: 'alice' }),
      'MATTER_NOT_OPEN',
    );
  });
});

type Attempt = { kind: 'claim'; actorId: string } | { kind: 'release'; actorId: string; onBehalfOf?: string };

const memberArb = fc.constantFrom('ann', 'ben', 'cat', 'dan');
const attemptArb: fc.Arbitrary<Attempt> = fc.oneof(
  memberArb.map((actorId) => ({ kind: 'claim' as const, actorId })),
  memberArb.map((actorId) => ({ kind: 'release' as const, actorId })),
  fc
    .tuple(memberArb, memberArb)
    .map(([actorId, onBehalfOf]) => ({ kind: 'release' as const, actorId, onBehalfOf })),
);

describe('claim and release as a state machine', () => {
  it('for any sequence of claim and release attempts, two claims never both succeed without a successful release in between', () => {
    fc.assert(
      fc.property(fc.array(attemptArb, { maxLength: 40 }), (attempts) => {
        let state = groupMatter();
        let claimedSinceRelease = false;
        for (const attempt of attempts) {
          const before = state.handlerId;
          if (attempt.kind === 'claim') {
            let code: string | null = null;
            try {
              checkClaim(state, { actorId: attempt.actorId });
            } catch (err) {
              expect(err).toBeInstanceOf(Refusal);
              code = (err as Refusal).code;
            }
            if (code === null) {
              // a claim succeeds only on an unclaimed matter, and never twice without a release
              expect(before).toBeNull();
              expect(claimedSinceRelease).toBe(false);
              claimedSinceRelease = true;
              state = { ...state, handlerId: attempt.actorId };
            } else {
              expect(code).toBe(ActionRefusal.ALREADY_CLAIMED);
              expect(before).not.toBeNull();
            }
          } else {
            let code: string | null = null;
            try {
              checkRelease(state, { actorId: attempt.actorId, onBehalfOf: attempt.onBehalfOf });
            } catch (err) {
              expect(err).toBeInstanceOf(Refusal);
              code = (err as Refusal).code;
            }
            if (code === null) {
              // only the current handler, or someone on their behalf, releases
              expect(before).not.toBeNull();
              expect(attempt.onBehalfOf ?? attempt.actorId).toBe(before);
              claimedSinceRelease = false;
              state = { ...state, handlerId: null };
            } else if (before === null) {
              expect(code).toBe(ActionRefusal.NOT_CLAIMED);
            } else {
              expect(code).toBe(ActionRefusal.NOT_HANDLER);
              expect(attempt.onBehalfOf ?? attempt.actorId).not.toBe(before);
            }
          }
          // the machine's view and the state agree at every step
          expect(state.handlerId !== null).toBe(claimedSinceRelease);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
