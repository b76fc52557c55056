import { Context } from '@temporalio/activity';
import type { Logger } from '../logger.js';

/** A logger for this activity call: every line names the run, the activity and the attempt, plus `fields`. */
export function activityLog(log: Logger, fields: Record<string, unknown>): Logger {
  const { workflowExecution, activityType, attempt } = Context.current().info;
  return log.child({ workflowId: workflowExecution?.workflowId, activity: activityType, attempt, ...fields });
}
