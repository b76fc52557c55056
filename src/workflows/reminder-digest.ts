import {
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createDigestActivities } from '../activities/digest.js';
import { DELIVERY_ACTIVITY_OPTIONS } from './delivery-options.js';
import { reminderHeldSignal } from './messages.js';
import { untilSent } from './until-sent.js';

const { sendReminderDigest } =
  proxyActivities<ReturnType<typeof createDigestActivities>>(DELIVERY_ACTIVITY_OPTIONS);

export interface DigestWorkflowInput {
  recipientId: string;
  /** Digest times asked for and not yet served, carried across continue-as-new. */
  dueAt?: number | null;
}

const ROUNDS_PER_RUN = 200;

/**
 * One per recipient while they are over their reminder cap: waits until a digest is due, sends one
 * message for everything held back so far, and ends once nothing more is held.
 */
export async function reminderDigestWorkflow(input: DigestWorkflowInput): Promise<number> {
  let dueAt: number | null = input.dueAt ?? null;
  setHandler(reminderHeldSignal, ({ digestAt }) => {
    const at = Date.parse(digestAt);
    dueAt = dueAt === null ? at : Math.min(dueAt, at);
  });
  let rounds = 0;
  for (;;) {
    await condition(() => dueAt !== null, '1 minute');
    if (dueAt === null) return rounds;
    if (rounds >= ROUNDS_PER_RUN)
      return await continueAsNew<typeof reminderDigestWorkflow>({ ...input, dueAt });
    const wait = dueAt - Date.now();
    if (wait > 0) {
      // An earlier digest time may arrive while waiting.
      const asked = dueAt;
      if (await condition(() => dueAt !== asked, wait)) continue;
    }
    // Cleared first: a reminder held back from here on asks for a round of its own.
    dueAt = null;
    const digestKey = `${workflowInfo().workflowId}:${workflowInfo().runId}:${rounds}`;
    rounds++;
    await untilSent(() => sendReminderDigest({ recipientId: input.recipientId, digestKey })).catch((err) =>
      log.warn('digest undeliverable', { recipientId: input.recipientId, error: String(err) }),
    );
  }
}
