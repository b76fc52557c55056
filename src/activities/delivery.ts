import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ChannelRegistry, ChannelTarget, OutboundMessage } from '../channels/channel.js';
import type { Queryable } from '../db/client.js';
import { recordAttempt } from '../db/notifications.js';
import { DELIVERY_MAX_ATTEMPTS } from './contracts.js';

/**
 * Sends a claimed notice and logs the attempt. A failure is thrown so that Temporal retries it; the
 * last attempt, or a refusal no retry can mend, marks the notice failed.
 */
export async function sendClaimed(
  db: Queryable,
  channels: ChannelRegistry,
  notificationId: number,
  target: ChannelTarget,
  message: OutboundMessage,
  recipientId: string,
): Promise<'delivered'> {
  const result = await channels.get(target.type)!.send(target, message);
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
