import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRejectTransfer, transferAlertDue } from '../../src/domain/actions.js';
import { ActionRefusal } from '../../src/domain/errors.js';
import { expectAllowed, expectRefusal, openMatter } from '../support/matter-state.js';

const transferredToBob = () =>
  openMatter({
    handlerId: 'bob',
    transferCount: 1,
    lastTransfer: { from: 'alice', to: 'bob', at: '2025-06-01T09:00:00.000Z' },
  });

describe('checkRejectTransfer', () => {
  it('when the handler a matter was transferred to rejects it with a reason, then it is allowed', () => {
    expectAllowed(transferredToBob(), (s) => checkRejectTransfer(s, { actorId: 'bob', reason: 'not mine' }));
  });

  it('when a stand-in rejects for that handler, then it is allowed', () => {
    expectAllowed(transferredToBob(), (s) =>
      checkRejectTransfer(s, { actorId: 'carol', onBehalfOf: 'bob', reason: 'bob is away' }),
    );
  });

  it('when the matter came by assignment or was already handed back, then NO_TRANSFER_TO_REJECT', () => {
    expectRefusal(
      openMatter(),
      (s) => checkRejectTransfer(s, { actorId: 'alice', reason: 'r' }),
      ActionRefusal.NO_TRANSFER_TO_REJECT,
    );
    expectRefusal(
      openMatter({ handlerId: 'alice', lastTransfer: null }),
      (s) => checkRejectTransfer(s, { actorId: 'alice', reason: 'r' }),
      ActionRefusal.NO_TRANSFER_TO_REJECT,
    );
  });

  it('when someone other than the current handler rejects, or without a reason, then it is refused', () => {
    expectRefusal(
      transferredToBob(),
      (s) => checkRejectTransfer(s, { actorId: 'alice', reason: 'r' }),
      ActionRefusal.NOT_HANDLER,
    );
    expectRefusal(
      transferredToBob(),
      (s) => checkRejectTransfer(s, { actorId: 'bob', reason: '  ' }),
      ActionRefusal.INVALID_ACTION,
    );
  });

  it('when the matter is no longer open, then MATTER_NOT_OPEN', () => {
    expectRefusal(
      { ...transferredToBob(), status: 'completed', completedBy: 'bob' },
      (s) => checkRejectTransfer(s, { actorId: 'bob', reason: 'r' }),
      ActionRefusal.NOT_OPEN,
    );
  });
});

describe('transferAlertDue', () => {
  it('alerts exactly when the count is more than the threshold, and never without one', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.integer({ min: 1, max: 50 }), (count, threshold) => {
        expect(transferAlertDue(count, threshold)).toBe(count > threshold);
        expect(transferAlertDue(count, undefined)).toBe(false);
      }),
    );
  });
});
