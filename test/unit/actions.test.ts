import { describe, expect, it } from 'vitest';
import {
  changesOf,
  checkCancel,
  checkComplete,
  checkFileException,
  checkModify,
  checkTransfer,
} from '../../src/domain/actions.js';
import { ActionRefusal } from '../../src/domain/errors.js';
import type { MatterState } from '../../src/domain/matter.js';
import { expectAllowed, expectRefusal, openMatter } from '../support/matter-state.js';

const completedByBob = (): MatterState =>
  openMatter({
    status: 'completed',
    completedBy: 'bob',
    completedAt: '2025-06-01T09:00:00.000Z',
    outcome: 'ok',
  });

describe('checkComplete', () => {
  it('when the current handler completes an open matter, then it is allowed and the state is unchanged', () => {
    expectAllowed(openMatter(), (s) => checkComplete(s, { actorId: 'alice' }));
    expectAllowed(openMatter(), (s) =>
      checkComplete(s, { actorId: 'alice', outcome: 'approved', comment: 'fine' }),
    );
  });

  it('when the matter was already completed, then MATTER_NOT_OPEN is refused and the message says by whom', () => {
    const err = expectRefusal(
      completedByBob(),
      (s) => checkComplete(s, { actorId: 'alice' }),
      ActionRefusal.NOT_OPEN,
    );
    expect(err.code).toBe('MATTER_NOT_OPEN');
    expect(err.message).toContain('completed');
    expect(err.message).toContain('by bob');
  });

  it('when the matter was cancelled without a completer, then MATTER_NOT_OPEN is refused without a "by" clause', () => {
    const err = expectRefusal(
      openMatter({ status: 'cancelled' }),
      (s) => checkComplete(s, { actorId: 'alice' }),
      'MATTER_NOT_OPEN',
    );
    expect(err.message).toContain('cancelled');
    expect(err.message).not.toContain(' by ');
  });

  it('when the matter is closed and the actor is not the handler either, then not-open is reported first', () => {
    expectRefusal(completedByBob(), (s) => checkComplete(s, { actorId: 'mallory' }), 'MATTER_NOT_OPEN');
  });

  it('when someone other than the current handler completes it, then NOT_YOUR_MATTER names the handler', () => {
    const err = expectRefusal(openMatter(), (s) => checkComplete(s, { actorId: 'bob' }), 'NOT_YOUR_MATTER');
    expect(err.message).toContain('alice');
  });

  it('when the outcome or comment is longer than 4000 characters or not text, then INVALID_ACTION is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkComplete(s, { actorId: 'alice', outcome: 'x'.repeat(4001) }),
      'INVALID_ACTION',
    );
    expectRefusal(
      openMatter(),
      (s) => checkComplete(s, { actorId: 'alice', comment: 'x'.repeat(4001) }),
      'INVALID_ACTION',
    );
    expectRefusal(
      openMatter(),
      (s) => checkComplete(s, { actorId: 'alice', outcome: 42 as unknown as string }),
      'INVALID_ACTION',
    );
  });

  it('when the outcome is exactly 4000 characters, then it is allowed', () => {
    expectAllowed(openMatter(), (s) => checkComplete(s, { actorId: 'alice', outcome: 'x'.repeat(4000) }));
  });
});

describe('checkTransfer', () => {
  it('when the handler transfers to someone else with a reason, then it is allowed and the state is unchanged', () => {
    expectAllowed(openMatter(), (s) =>
      checkTransfer(s, { actorId: 'alice', toHandlerId: 'bob', reason: 'on leave' }),
    );
  });

  it('when the handler transfers to themselves, then TRANSFER_TO_SELF is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkTransfer(s, { actorId: 'alice', toHandlerId: 'alice', reason: 'why not' }),
      'TRANSFER_TO_SELF',
    );
  });

  it.each(['', '   ', '\n\t'])('when the reason is %j, then INVALID_ACTION is refused', (reason) => {
    const err = expectRefusal(
      openMatter(),
      (s) => checkTransfer(s, { actorId: 'alice', toHandlerId: 'bob', reason }),
      'INVALID_ACTION',
    );
    expect(err.message).toContain('reason');
  });

  it('when the target handler id is empty, then INVALID_ACTION is refused', () => {
    const err = expectRefusal(
      openMatter(),
      (s) => checkTransfer(s, { actorId: 'alice', toHandlerId: '', reason: 'on leave' }),
      'INVALID_ACTION',
    );
    expect(err.message).toContain('toHandlerId');
  });

  it('when someone else tries to transfer, then NOT_YOUR_MATTER is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkTransfer(s, { actorId: 'bob', toHandlerId: 'carol', reason: 'grab' }),
      'NOT_YOUR_MATTER',
    );
  });

  it('when the matter is completed, then MATTER_NOT_OPEN is refused with "by bob"', () => {
    const err = expectRefusal(
      completedByBob(),
      (s) => checkTransfer(s, { actorId: 'alice', toHandlerId: 'carol', reason: 'late' }),
      'MATTER_NOT_OPEN',
    );
    expect(err.message).toContain('by bob');
  });
});

describe('checkFileException', () => {
  it('when the handler files an exception with type and description, then it is allowed and the state is unchanged', () => {
    expectAllowed(openMatter(), (s) =>
      checkFileException(s, {
        actorId: 'alice',
        eventType: 'supplier.delay',
        description: 'Supplier is late',
        fields: { days: 3 },
      }),
    );
  });

  it('when the description is empty, then INVALID_ACTION is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkFileException(s, { actorId: 'alice', eventType: 'supplier.delay', description: '' }),
      'INVALID_ACTION',
    );
  });

  it('when the event type is blank, then INVALID_ACTION is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkFileException(s, { actorId: 'alice', eventType: '  ', description: 'late' }),
      'INVALID_ACTION',
    );
  });

  it('when someone other than the handler files it, then NOT_YOUR_MATTER is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkFileException(s, { actorId: 'bob', eventType: 'x', description: 'y' }),
      'NOT_YOUR_MATTER',
    );
  });

  it('when the matter is completed, then MATTER_NOT_OPEN is refused with "by bob"', () => {
    const err = expectRefusal(
      completedByBob(),
      (s) => checkFileException(s, { actorId: 'alice', eventType: 'x', description: 'y' }),
      'MATTER_NOT_OPEN',
    );
    expect(err.message).toContain('by bob');
  });
});

describe('checkModify and changesOf', () => {
  it('when fields are set to their current values, then they are no change and the request is refused', () => {
    const state = openMatter();
    expect(changesOf(state, { actorId: 'mgr', reason: 'r', title: state.title, priority: 'normal' })).toEqual(
      {},
    );
    expectRefusal(
      state,
      (s) => checkModify(s, { actorId: 'mgr', reason: 'r', title: s.title }),
      'INVALID_ACTION',
    );
  });

  it('when the due time is written differently but means the same instant, then it is no change', () => {
    const state = openMatter({ dueAt: '2025-06-02T08:00:00.000Z' });
    expect(changesOf(state, { actorId: 'mgr', reason: 'r', dueAt: '2025-06-02T16:00:00+08:00' })).toEqual({});
  });

  it('when fields change, then each is reported with its old and new value', () => {
    const state = openMatter();
    expect(checkModify(state, { actorId: 'mgr', reason: 'r', title: 'New title', details: 'More' })).toEqual({
      title: { from: 'Approve purchase order 77', to: 'New title' },
      details: { from: null, to: 'More' },
    });
  });

  it('when the rule is invalid, the reason empty or the matter closed, then the request is refused', () => {
    expectRefusal(
      openMatter(),
      (s) => checkModify(s, { actorId: 'm', reason: 'r', reminderRule: { every: 'P1M' } }),
      'INVALID_ACTION',
    );
    expectRefusal(
      openMatter(),
      (s) => checkModify(s, { actorId: 'm', reason: ' ', title: 'x' }),
      'INVALID_ACTION',
    );
    expectRefusal(
      completedByBob(),
      (s) => checkModify(s, { actorId: 'm', reason: 'r', title: 'x' }),
      'MATTER_NOT_OPEN',
    );
  });

  it('when a cancel has no reason or the matter is closed, then it is refused', () => {
    expectRefusal(openMatter(), (s) => checkCancel(s, { actorId: 'm', reason: '' }), 'INVALID_ACTION');
    expectRefusal(
      completedByBob(),
      (s) => checkCancel(s, { actorId: 'm', reason: 'dup' }),
      'MATTER_NOT_OPEN',
    );
    expect(() => checkCancel(openMatter(), { actorId: 'm', reason: 'dup' })).not.toThrow();
  });
});
