import { expect } from 'vitest';
import type { DeliverNoticeInput } from '../../src/activities/contracts.js';
import { type ActionRefusalCode, Refusal } from '../../src/domain/errors.js';
import type { MatterState } from '../../src/domain/matter.js';

/** An open matter held by alice, for the pure action checks; override what a test is about. */
export function openMatter(overrides: Partial<MatterState> = {}): MatterState {
  return {
    id: 'mat_1',
    source: 'erp',
    externalId: 'PO-77',
    title: 'Approve purchase order 77',
    details: null,
    link: null,
    dueAt: null,
    priority: 'normal',
    reminderRule: { every: 'PT4H', maxCount: 6, escalateAfter: 'P1D' },
    handlerId: 'alice',
    createdBy: 'erp',
    createdAt: '2025-06-01T08:00:00.000Z',
    status: 'open',
    assignedAt: '2025-06-01T08:00:00.000Z',
    remindersSent: 2,
    escalated: false,
    seq: 3,
    transferCount: 0,
    exceptionCount: 0,
    nextNoticeAt: '2025-06-01T20:00:00.000Z',
    completedAt: null,
    completedBy: null,
    outcome: null,
    scheduledChanges: [],
    ...overrides,
  };
}

export function refusal(fn: () => void): Refusal {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Refusal);
    return err as Refusal;
  }
  throw new Error('expected a Refusal, but the action was allowed');
}

/** Runs the check, asserts it refused with `code`, and that the state object was left untouched. */
export function expectRefusal(
  state: MatterState,
  check: (s: MatterState) => void,
  code: ActionRefusalCode,
): Refusal {
  const before = structuredClone(state);
  const err = refusal(() => check(state));
  expect(err.code).toBe(code);
  expect(state).toEqual(before);
  return err;
}

export function expectAllowed(state: MatterState, check: (s: MatterState) => void): void {
  const before = structuredClone(state);
  expect(() => check(state)).not.toThrow();
  expect(state).toEqual(before);
}

/** The notice a matter's assignment sends its handler, with a link to complete it. */
export function assignmentNotice(workflowId: string, state: MatterState): DeliverNoticeInput {
  if (!state.handlerId) throw new Error(`matter ${state.id} has no handler to notify`);
  return {
    workflowId,
    seq: 1,
    type: 'matter.assigned',
    recipient: { kind: 'handler', handlerId: state.handlerId },
    actions: ['complete'],
    issuedAt: state.createdAt,
    state,
    data: {},
  };
}
