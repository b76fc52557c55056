import { ActionRefusal, Refusal } from './errors.js';
import type { MatterState } from './matter.js';

export interface CompleteAction {
  actorId: string;
  outcome?: string;
  comment?: string;
}

export interface TransferAction {
  actorId: string;
  toHandlerId: string;
  reason: string;
}

export interface FileExceptionAction {
  actorId: string;
  eventType: string;
  description: string;
  fields?: Record<string, unknown>;
}

const TEXT_LIMIT = 4000;

function requireOpenAndHandler(state: MatterState, actorId: string): void {
  if (state.status !== 'open') {
    const by = state.completedBy ? ` by ${state.completedBy}` : '';
    throw new Refusal(ActionRefusal.NOT_OPEN, `matter is already ${state.status}${by}`);
  }
  if (actorId !== state.handlerId) {
    throw new Refusal(
      ActionRefusal.NOT_HANDLER,
      `only the current handler (${state.handlerId}) may act on it`,
    );
  }
}

function requireText(value: unknown, field: string, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || (required && value.trim() === '') || value.length > TEXT_LIMIT) {
    throw new Refusal(
      ActionRefusal.INVALID_ACTION,
      `${field} must be a non-empty text of at most ${TEXT_LIMIT} characters`,
    );
  }
}

export function checkComplete(state: MatterState, action: CompleteAction): void {
  requireOpenAndHandler(state, action.actorId);
  requireText(action.outcome, 'outcome', false);
  requireText(action.comment, 'comment', false);
}

export function checkTransfer(state: MatterState, action: TransferAction): void {
  requireOpenAndHandler(state, action.actorId);
  requireText(action.toHandlerId, 'toHandlerId', true);
  requireText(action.reason, 'reason', true);
  if (action.toHandlerId === state.handlerId) {
    throw new Refusal(
      ActionRefusal.TRANSFER_TO_SELF,
      'a matter cannot be transferred to its current handler',
    );
  }
}

export function checkFileException(state: MatterState, action: FileExceptionAction): void {
  requireOpenAndHandler(state, action.actorId);
  requireText(action.eventType, 'eventType', true);
  requireText(action.description, 'description', true);
}
