import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { ActionRefusal } from '../domain/errors.js';
import { ApiError } from './errors.js';

const REFUSAL_STATUS: Record<string, number> = {
  [ActionRefusal.NOT_OPEN]: 409,
  [ActionRefusal.NOT_HANDLER]: 403,
  [ActionRefusal.TRANSFER_TO_SELF]: 422,
  [ActionRefusal.UNKNOWN_HANDLER]: 422,
  [ActionRefusal.INVALID_ACTION]: 400,
  [ActionRefusal.CONFLICT]: 409,
  [ActionRefusal.NOT_CLAIMED]: 409,
  [ActionRefusal.ALREADY_CLAIMED]: 409,
  [ActionRefusal.NOT_GROUP_MATTER]: 409,
  [ActionRefusal.ALREADY_ACKNOWLEDGED]: 409,
  [ActionRefusal.FILING_CLOSED]: 409,
  [ActionRefusal.FILING_ACKNOWLEDGED]: 409,
  [ActionRefusal.NO_TRANSFER_TO_REJECT]: 409,
};

/** Turns what an Update or a start can throw into the API's refusals; anything else is ours (5xx). */
export function toApiError(err: unknown): unknown {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const type = err.cause.type ?? '';
    const status = REFUSAL_STATUS[type];
    if (status) return new ApiError(status, type, err.cause.message);
  }
  if (err instanceof WorkflowNotFoundError || isClosedWorkflow(err)) {
    return new ApiError(409, ActionRefusal.NOT_OPEN, 'matter is no longer open');
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isUnavailable(err)) {
    return new ApiError(503, 'ENGINE_UNAVAILABLE', 'the workflow engine did not answer in time; try again');
  }
  return err;
}

function isClosedWorkflow(err: unknown): boolean {
  return err instanceof Error && /workflow execution already completed/i.test(err.message);
}

/**
 * gRPC codes with which the engine refuses a request it has not carried out: bad argument, unknown
 * namespace, permission, rate limit, precondition, authentication.
 */
const REFUSED = new Set([3, 5, 7, 8, 9, 16]);

/** Whether a failed start certainly started nothing; a timeout or a lost connection leaves it unknown. */
export function refusedByEngine(err: unknown): boolean {
  const code = grpcCode(err);
  return code !== undefined && REFUSED.has(code);
}

/** The client wraps most gRPC errors in a ServiceError whose cause carries the status code. */
function grpcCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'number' ? e.code : e?.cause?.code;
  return typeof code === 'number' ? code : undefined;
}

function isUnavailable(err: unknown): boolean {
  const code = grpcCode(err);
  // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4)
  return code === 14 || code === 4;
}
