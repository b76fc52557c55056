import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Channel, ChannelRegistry, ChannelTarget, OutboundMessage } from '../channels/channel.js';
import type { Sql } from '../db/client.js';
import type { ChannelRow, HandlerRecord } from '../db/handlers.js';
import { recordAttempt } from '../db/notifications.js';
import { grantSendSlot } from '../db/send-slots.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { DELIVERY_MAX_ATTEMPTS, isThrottled, type Throttled } from './contracts.js';

/** Waits this short are spent in the activity; longer ones go back to the workflow as a durable sleep. */
const MAX_WAIT_IN_ACTIVITY_MS = 5_000;

/**
 * The recipient's usable channels in their order of preference, or only the allowed types in the
 * allowed order; each carries the recipient's locale for channels that write in their language.
 */
export function channelsFor(
  channels: ChannelRegistry,
  recipient: Pick<HandlerRecord, 'channels' | 'locale'>,
  allowed: string[] | null = null,
): ChannelRow[] {
  const usable = recipient.channels.filter((c) => channels.has(c.type));
  const ordered = allowed ? allowed.flatMap((type) => usable.filter((c) => c.type === type)) : usable;
  return ordered.map((c) => ({ ...c, settings: { ...c.settings, locale: recipient.locale } }));
}

export const pickChannel = (
  channels: ChannelRegistry,
  recipient: Pick<HandlerRecord, 'channels' | 'locale'>,
): ChannelRow | undefined => channelsFor(channels, recipient)[0];

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
  const tolerance = lateSendToleranceMs(channel.sendLimits);
  for (let asked = 1; ; asked++) {
    const slot = await grantSendSlot(
      db,
      `${target.type}:${target.address}`,
      channel.sendLimits,
      MAX_WAIT_IN_ACTIVITY_MS,
    );
    if (!slot.granted) return { throttledForMs: slot.waitMs };
    const wait = slot.at - Date.now();
    if (wait > 0) await Context.current().sleep(wait);
    // A stall (a busy host, a GC pause) that makes this send late would bunch it with the sends of the
    // next slots, over the vendor's limit: take a fresh slot instead. A clock far off the database's
    // would make every slot look late, so only a few are given up.
    if (Date.now() - slot.at <= tolerance || asked === MAX_LATE_SLOTS) return null;
  }
}

/** How late a send may go out in its slot: a tenth of the shortest window, so a stall bunches little. */
const lateSendToleranceMs = (limits: readonly { perMs: number }[]): number =>
  Math.min(...limits.map((l) => l.perMs)) / 10;
const MAX_LATE_SLOTS = 3;

/**
 * Sends a claimed notice and logs the attempt. A failure is thrown so that Temporal retries it; the
 * last attempt, or a refusal no retry can mend, marks the notice failed.
 */
export type SendOutcome =
  | 'delivered'
  | Throttled
  /** The receiver refused; `final` once no retry of this channel is left or can help. */
  | { failed: string; final: boolean };

/** Where a send is told: the activity call's logger (it carries the matter id) and the worker's counters. */
export interface SendObserver {
  log: Logger;
  metrics: WorkerMetrics;
}

/** One attempt at a claimed notice, logged; the last attempt, or a refusal no retry can mend, marks it failed. */
export async function attemptSend(
  db: Sql,
  channels: ChannelRegistry,
  notificationId: number,
  target: ChannelTarget,
  message: OutboundMessage,
  { log, metrics }: SendObserver,
): Promise<SendOutcome> {
  const channel = channels.get(target.type)!;
  const throttled = await waitForSendSlot(db, channel, target);
  if (throttled) return throttled;
  const result = await channel.send(target, message);
  const attempt = Context.current().info.attempt;
  const final = !result.ok && (!result.retryable || attempt >= DELIVERY_MAX_ATTEMPTS);
  await recordAttempt(db, notificationId, attempt, { ...result, final });
  const about = { notificationId, channel: target.type, type: message.type };
  if (result.ok) {
    metrics.remindersSent.inc({ channel: target.type });
    log.info(about, 'notice delivered');
    return 'delivered';
  }
  metrics.deliveryAttemptsFailed.inc({ channel: target.type });
  if (final) metrics.deliveriesFailed.inc({ channel: target.type });
  log.warn({ ...about, error: result.error, final }, final ? 'delivery failed for good' : 'delivery failed');
  return { failed: `${target.type}: ${result.error}`, final };
}

/** Sends a claimed notice; a failure is thrown so that Temporal retries it, unless it is final. */
export async function sendClaimed(
  db: Sql,
  channels: ChannelRegistry,
  notificationId: number,
  target: ChannelTarget,
  message: OutboundMessage,
  recipientId: string,
  observer: SendObserver,
): Promise<'delivered' | Throttled> {
  const sent = await attemptSend(db, channels, notificationId, target, message, observer);
  if (sent === 'delivered' || isThrottled(sent)) return sent;
  throw ApplicationFailure.create({
    type: 'DELIVERY_FAILED',
    message: `delivery to ${recipientId} failed: ${sent.failed}`,
    nonRetryable: sent.final,
  });
}
