import { ActionRefusal, Refusal } from './errors.js';
import type { Attachment, OnFiling } from './exception-type.js';
import { type MatterState, PRIORITIES, type Priority } from './matter.js';
import type { ReminderRule } from './reminder-rule.js';
import { parseSchedule, RuleError } from './schedule.js';

/** Who acts, and for whom when a stand-in acts for an absent handler (the API checks the delegation). */
interface Acting {
  actorId: string;
  onBehalfOf?: string;
}

export interface CompleteAction extends Acting {
  outcome?: string;
  comment?: string;
}

export interface TransferAction extends Acting {
  toHandlerId: string;
  reason: string;
  /** Set by the API from configuration: more transfers than this alert the manager. */
  alertAfter?: number;
}

/** The new handler hands a transferred matter back to whoever transferred it. */
export interface RejectTransferAction extends Acting {
  reason: string;
  alertAfter?: number;
}

export interface FileExceptionAction extends Acting {
  eventType: string;
  description: string;
  fields?: Record<string, unknown>;
  /** Set by the API from the catalog: the type's version filed against, and who must hear of it. */
  eventTypeVersion?: number;
  severity?: string;
  subscribers?: { handlerIds: string[]; groupIds: string[]; webhooks?: string[] };
  /** Set by the API: the filing's id, so notices can name it before the record exists. */
  filingId?: string;
  attachments?: Attachment[];
  /** The type's disposition; absent is `leave_open`. */
  onFiling?: OnFiling;
}

/** A subscriber takes up a filing (`acknowledged`) or settles it (`closed`), with a note. */
export interface FilingAction {
  actorId: string;
  filingId: string;
  /** The seq of the filing's `exception.filed` event. */
  filingSeq: number;
  step: 'acknowledged' | 'closed';
  note?: string;
}

const TEXT_LIMIT = 4000;

function requireOpenAndHandler(state: MatterState, action: Acting): void {
  requireOpen(state);
  if (state.handlerId === null) {
    throw new Refusal(
      ActionRefusal.NOT_CLAIMED,
      `the matter is offered to group ${state.groupId ?? '(none)'} and nobody has claimed it; claim it first`,
    );
  }
  if ((action.onBehalfOf ?? action.actorId) !== state.handlerId) {
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
  requireOpenAndHandler(state, action);
  requireText(action.outcome, 'outcome', false);
  requireText(action.comment, 'comment', false);
}

export function checkTransfer(state: MatterState, action: TransferAction): void {
  requireOpenAndHandler(state, action);
  requireText(action.toHandlerId, 'toHandlerId', true);
  requireText(action.reason, 'reason', true);
  if (action.toHandlerId === state.handlerId) {
    throw new Refusal(
      ActionRefusal.TRANSFER_TO_SELF,
      'a matter cannot be transferred to its current handler',
    );
  }
}

export function checkRejectTransfer(state: MatterState, action: RejectTransferAction): void {
  requireOpenAndHandler(state, action);
  requireText(action.reason, 'reason', true);
  const last = state.lastTransfer;
  if (!last || last.to !== state.handlerId) {
    throw new Refusal(
      ActionRefusal.NO_TRANSFER_TO_REJECT,
      'the matter did not come to its handler by a transfer that can still be rejected',
    );
  }
}

/** More transfers than the threshold: the matter is passed around instead of handled. */
export function transferAlertDue(transferCount: number, alertAfter: number | undefined): boolean {
  return alertAfter !== undefined && transferCount > alertAfter;
}

export function checkFileException(state: MatterState, action: FileExceptionAction): void {
  requireOpenAndHandler(state, action);
  requireText(action.eventType, 'eventType', true);
  requireText(action.description, 'description', true);
}

/** A reviewed change of a matter's definition; absent fields stay as they are. */
export interface ModifyAction {
  actorId: string;
  reason: string;
  /** The reviewed request this applies, and who approved it. */
  review?: { changeRequestId: string; approvedBy: string };
  title?: string;
  details?: string | null;
  link?: string | null;
  dueAt?: string | null;
  priority?: Priority;
  reminderRule?: ReminderRule;
  handlerId?: string;
}

export interface CancelAction {
  actorId: string;
  reason: string;
  review?: { changeRequestId: string; approvedBy: string };
}

export const MODIFIABLE = [
  'title',
  'details',
  'link',
  'dueAt',
  'priority',
  'reminderRule',
  'handlerId',
] as const;
export type Modifiable = (typeof MODIFIABLE)[number];
export type Changes = Partial<Record<Modifiable, { from: unknown; to: unknown }>>;

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** What the action would change, field by field; fields set to their current value are no change. */
export function changesOf(state: MatterState, action: ModifyAction): Changes {
  const changes: Changes = {};
  for (const field of MODIFIABLE) {
    if (action[field] === undefined) continue;
    const to = field === 'dueAt' && action.dueAt ? new Date(action.dueAt).toISOString() : action[field];
    if (!sameValue(state[field], to)) changes[field] = { from: state[field], to };
  }
  return changes;
}

/** The API checked the filing's record; the workflow refuses only what its own state rules out. */
export function checkFilingAction(state: MatterState, action: FilingAction): void {
  requireOpen(state);
  requireText(action.note, 'note', action.step === 'closed');
  // A filing from before they were tracked is not in the list; the API checked its record.
  const filing = state.filings?.find((f) => f.seq === action.filingSeq);
  if (filing?.status === 'closed') {
    throw new Refusal(ActionRefusal.FILING_CLOSED, `exception filing ${action.filingId} is already closed`);
  }
  if (filing?.status === 'acknowledged' && action.step === 'acknowledged') {
    throw new Refusal(
      ActionRefusal.FILING_ACKNOWLEDGED,
      `exception filing ${action.filingId} is already acknowledged`,
    );
  }
}

function requireOpen(state: MatterState): void {
  if (state.status !== 'open') {
    const by = state.completedBy ? ` by ${state.completedBy}` : '';
    throw new Refusal(ActionRefusal.NOT_OPEN, `matter is already ${state.status}${by}`);
  }
}

export interface AcknowledgeAction extends Acting {
  note?: string;
}

/** Once is enough: the ladder already stopped climbing at the first acknowledgement. */
export function checkAcknowledge(state: MatterState, action: AcknowledgeAction): void {
  requireOpenAndHandler(state, action);
  requireText(action.note, 'note', false);
  if (state.acknowledgedAt) {
    throw new Refusal(
      ActionRefusal.ALREADY_ACKNOWLEDGED,
      `the matter was acknowledged at ${state.acknowledgedAt}`,
    );
  }
}

export interface ClaimAction {
  actorId: string;
}

export interface ReleaseAction extends Acting {
  reason?: string;
}

function requireGroupMatter(state: MatterState): void {
  requireOpen(state);
  if (!state.groupId) {
    throw new Refusal(ActionRefusal.NOT_GROUP_MATTER, 'the matter is not offered to a group');
  }
}

/** The first claim wins: the workflow runs Updates one at a time, so a second sees the claimant. */
export function checkClaim(state: MatterState, action: ClaimAction): void {
  requireGroupMatter(state);
  if (state.handlerId !== null) {
    const mine = state.handlerId === action.actorId ? ' (by you)' : '';
    throw new Refusal(
      ActionRefusal.ALREADY_CLAIMED,
      `the matter is already claimed by ${state.handlerId}${mine}`,
    );
  }
}

export function checkRelease(state: MatterState, action: ReleaseAction): void {
  requireGroupMatter(state);
  requireOpenAndHandler(state, action);
  requireText(action.reason, 'reason', false);
}

export function checkModify(state: MatterState, action: ModifyAction): Changes {
  requireOpen(state);
  requireText(action.reason, 'reason', true);
  if (action.title !== undefined) requireText(action.title, 'title', true);
  if (action.priority !== undefined && !PRIORITIES.includes(action.priority)) {
    throw new Refusal(ActionRefusal.INVALID_ACTION, `priority must be one of ${PRIORITIES.join(', ')}`);
  }
  if (action.dueAt && Number.isNaN(Date.parse(action.dueAt))) {
    throw new Refusal(ActionRefusal.INVALID_ACTION, 'dueAt must be an RFC 3339 time');
  }
  if (action.reminderRule !== undefined) {
    try {
      parseSchedule(action.reminderRule);
    } catch (err) {
      if (err instanceof RuleError) throw new Refusal(ActionRefusal.INVALID_ACTION, err.message);
      throw err;
    }
  }
  const changes = changesOf(state, action);
  if (Object.keys(changes).length === 0) {
    throw new Refusal(ActionRefusal.INVALID_ACTION, 'the change request changes nothing');
  }
  return changes;
}

export function checkCancel(state: MatterState, action: CancelAction): void {
  requireOpen(state);
  requireText(action.reason, 'reason', true);
}

/** An approved change that takes effect later; the matter's workflow applies it at that time. */
export type ScheduledChange =
  | { changeRequestId: string; effectiveAt: string; kind: 'modify'; action: ModifyAction }
  | { changeRequestId: string; effectiveAt: string; kind: 'delete'; action: CancelAction };

export function checkSchedule(state: MatterState, change: ScheduledChange): void {
  if (Number.isNaN(Date.parse(change.effectiveAt))) {
    throw new Refusal(ActionRefusal.INVALID_ACTION, 'effectiveAt must be an RFC 3339 time');
  }
  if (state.scheduledChanges.some((c) => c.changeRequestId === change.changeRequestId)) {
    throw new Refusal(
      ActionRefusal.INVALID_ACTION,
      `change request ${change.changeRequestId} is already scheduled`,
    );
  }
  if (change.kind === 'modify') checkModify(state, change.action);
  else checkCancel(state, change.action);
}
