import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { ChangeRequestRow } from '../db/change-requests.js';
import type { Logger } from '../logger.js';
import type { changeOutcomeWorkflow } from '../workflows/change-outcome.js';

export interface ChangeOutcomeNoticeDeps {
  temporal: Client;
  taskQueue: string;
  /** How long a decision waits for the engine to take its notice. */
  timeoutMs: number;
  log: Logger;
}

/** Hands a decided request's outcome to a workflow that delivers it to the maker and the reviewer. */
export function changeOutcomeNotices({ temporal, taskQueue, timeoutMs, log }: ChangeOutcomeNoticeDeps) {
  return async function notifyOutcome(cr: ChangeRequestRow): Promise<void> {
    const workflowId = `change-outcome:${cr.id}`;
    try {
      await temporal.withDeadline(Date.now() + timeoutMs, () =>
        temporal.workflow.start<typeof changeOutcomeWorkflow>('changeOutcomeWorkflow', {
          workflowId,
          taskQueue,
          args: [{ changeRequestId: cr.id, makerId: cr.makerId, reviewerId: cr.reviewerId }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
      );
    } catch (err) {
      // Already ran to completion under this id: the outcome was told.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      // The decision is committed and stands; only its notice is missing, and the log says which.
      log.error({ err, workflowId, changeRequestId: cr.id }, 'could not start the change outcome notice');
    }
  };
}
