import { proxyActivities, sleep } from '@temporalio/workflow';

export interface TimerActivities {
  /** Tells the bench's receiver that the timer for `id`, planned at `plannedAt` (epoch ms), fired. */
  fired(id: string, plannedAt: number): Promise<void>;
}

const { fired } = proxyActivities<TimerActivities>({ startToCloseTimeout: '30 seconds' });

/** The floor for a reminder: one durable timer until its planned time, then one activity that reports it. */
export async function timerWorkflow(id: string, plannedAt: number): Promise<void> {
  await sleep(plannedAt - Date.now());
  await fired(id, plannedAt);
}
