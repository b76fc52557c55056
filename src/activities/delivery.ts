import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ChannelRegistry, ChannelTarget, OutboundMessage } from '../channels/channel.js';
import type { Sql } from '../db/client.js';
import { recordAttempt } from '../db/notifications.js';
import { grantSendSlot } from '../db/send-slots.js';
import { DELIVERY_MAX_ATTEMPTS, type Throttled } from './contracts.js';

/** Waits this short are spent in the activity; longer ones go back to the workflow as a durable sleep. */
const MAX_WAIT_IN_ACTIVITY_MS = 5_000;

/**
 * Sends a claimed notice and logs the attempt. A failure is thrown so that Temporal retries it; the
 * last attempt, or a refusal no retry can mend, marks the notice failed.
 */
export async function sendClaimed(
  db: Sql,
  channels: ChannelRegistry,
  notificationId: number,
  target: ChannelTarget,
  message: OutboundMessage,
  recipientId: string,
): Promise<'delivered' | Throttled> {
  const channel = channels.get(target.type)!;
  if (channel.sendLimits?.length) {
    const slot = await grantSendSlot(
      db,
      `${target.type}:${target.address}`,
      channel.sendLimits,
      MAX_WAIT_IN_ACTIVITY_MS,
    );
    if (!slot.granted) return { throttledForMs: slot.waitMs };
    if (slot.waitMs > 0) await Context.current().sleep(slot.waitMs);
  }
  const result = await channel.send(target, message);
  const attempt = Context.current().info.attempt;
  const final = !result.ok && (!result.retryable || attempt >= DELIVERY_MAX_ATTEMPTS);
  await recordAttempt(db, notificationId, attempt, { ...result, final });
  if (result.ok) return 'delivered';
  throw ApplicationFailure.create({
    type: 'DELIVERY_FAILED',
    message: `${target.type} delivery to ${recipientId} failed: ${result.error}`,
    nonRetryable: !result.retryable,
  });
}
