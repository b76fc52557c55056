import type { ActivityOptions } from '@temporalio/workflow';
import { ACTIVITY_HEARTBEAT_TIMEOUT_MS, DELIVERY_MAX_ATTEMPTS } from '../activities/contracts.js';

/** Every notice is retried the same way: backing off to minutes, until the attempt that marks it failed. */
export const DELIVERY_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT_MS,
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: DELIVERY_MAX_ATTEMPTS,
  },
};
