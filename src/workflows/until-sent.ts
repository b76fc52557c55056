import { sleep } from '@temporalio/workflow';
import { isThrottled, type Throttled } from '../activities/contracts.js';

/** Asks again after each throttle, sleeping durably in between, so a long queue costs no retries. */
export async function untilSent<T extends string>(ask: () => Promise<T | Throttled>): Promise<T> {
  for (;;) {
    const report = await ask();
    if (!isThrottled(report)) return report;
    await sleep(Math.max(1, report.throttledForMs));
  }
}
