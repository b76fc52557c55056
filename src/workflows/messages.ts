import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AcknowledgeAction,
  CancelAction,
  ClaimAction,
  CompleteAction,
  FileExceptionAction,
  FilingAction,
  ModifyAction,
  RejectTransferAction,
  ReleaseAction,
  ScheduledChange,
  TransferAction,
} from '../domain/actions.js';
import type { MatterState } from '../domain/matter.js';

/** Contracts shared by the workflow and its callers; clients import this module, never the workflow. */
export const TASK_QUEUE_DEFAULT = 'matterflow';

export interface ActionResult {
  seq: number;
  state: MatterState;
}

export const stateQuery = defineQuery<MatterState>('state');
export const completeUpdate = defineUpdate<ActionResult, [CompleteAction]>('complete');
export const transferUpdate = defineUpdate<ActionResult, [TransferAction]>('transfer');
export const rejectTransferUpdate = defineUpdate<ActionResult, [RejectTransferAction]>('rejectTransfer');
export const fileExceptionUpdate = defineUpdate<ActionResult, [FileExceptionAction]>('fileException');
export const modifyUpdate = defineUpdate<ActionResult, [ModifyAction]>('modify');
export const cancelUpdate = defineUpdate<ActionResult, [CancelAction]>('cancel');
export const scheduleChangeUpdate = defineUpdate<ActionResult, [ScheduledChange]>('scheduleChange');
export const claimUpdate = defineUpdate<ActionResult, [ClaimAction]>('claim');
export const releaseUpdate = defineUpdate<ActionResult, [ReleaseAction]>('release');
export const acknowledgeUpdate = defineUpdate<ActionResult, [AcknowledgeAction]>('acknowledge');

/** A reminder was held back by the recipient's cap; `digestAt` is when they should hear of it at the latest. */
export const reminderHeldSignal = defineSignal<[{ digestAt: string }]>('reminderHeld');

export const digestWorkflowId = (recipientId: string): string => `reminder-digest:${recipientId}`;

/** A subscriber acknowledges or closes an exception filing; closing one that paused reminders resumes them. */
export const filingUpdate = defineUpdate<ActionResult, [FilingAction]>('exceptionFiling');
