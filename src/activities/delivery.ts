import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Channel, ChannelRegistry, ChannelTarget, OutboundMessage } from '../channels/channel.js';
import type { Sql } from '../db/client.js';
import type { ChannelRow, HandlerRecord } from '../db/handlers.js';
import { recordAttempt } from '../db/notifications.js';
import { grantSendSlot } from '../db/send-slots.js';
import { DELIVERY_MAX_ATTEMPTS, type Throttled } from './contracts.js';

/** Waits this short are spent in the activity; longer ones go back to the workflow as a durable sleep. */
const MAX_WAIT_IN_ACTIVITY_MS = 5_000;

/**
 * The recipient's first usable channel, or the first of the allowed types they have, in that order; it
 * carries the recipient's locale for channels that write in their language.
 */
export function pickChannel(
  channels: ChannelRegistry,
  recipient: Pick<HandlerRecord, 'channels' | 'locale'>,
  allowed: string[] | null = null,
): ChannelRow | undefined {
  const usable = recipient.channels.filter((c) => channels.has(c.type));
  const hit = allowed ? allowed.map((type) => usable.find((c) => c.type === type)).find(Boolean) : usable[0];
  return hit && { ...hit, settings: { ...hit.settings, locale: recipient.locale } };
}

/**
 * Takes the target's next send slot under the channel's limits, waiting here when it is near; when it
 * is far, says how long the workflow should sleep instead.
 */
export async function waitForSendSlot(
  db: Sql,
  channel: Channel,
  target: ChannelTarget,
): Promise<Throttled | null> {
  if (!channel.sendLimits?.length) return null;
  const slot = await grantSendSlot(
    db,
    `${target.type}:${target.address}`,
    channel.sendLimits,
    MAX_WAIT_IN_ACTIVITY_MS,
  );
  if (!slot.granted) return { throttledForMs: slot.waitMs };
  if (slot.waitMs > 0) await Context.current().sleep(slot.waitMs);
  return null;
}

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
  const throttled = await waitForSendSlot(db, channel, target);
  if (throttled) return throttled;
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
