import type { ActivityOptions } from '@temporalio/workflow';
import { DELIVERY_MAX_ATTEMPTS } from '../activities/contracts.js';

/** Every notice is retried the same way: backing off to minutes, until the attempt that marks it failed. */
export const DELIVERY_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: DELIVERY_MAX_ATTEMPTS,
  },
};
