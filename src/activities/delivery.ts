import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Channel, ChannelRegistry, ChannelTarget, OutboundMessage } from '../channels/channel.js';
import type { Sql } from '../db/client.js';
import type { ChannelRow, HandlerRecord } from '../db/handlers.js';
import { type NotificationStatus, recordAttempt } from '../db/notifications.js';
import { grantSendSlot } from '../db/send-slots.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { DELIVERY_MAX_ATTEMPTS, type DeliveryReport, isThrottled, type Throttled } from './contracts.js';

/** Waits this short are spent in the activity; longer ones go back to the workflow as a durable sleep. */
const MAX_WAIT_IN_ACTIVITY_MS = 5_000;

/**
 * The recipient's channels in their order of preference, or only the allowed types in the allowed
 * order, whether or not this deployment can send through them; each carries the recipient's locale for
 * channels that write in their language.
 */
function channelsFor(
  recipient: Pick<HandlerRecord, 'channels' | 'locale'>,
  allowed: string[] | null,
): ChannelRow[] {
  const ordered = allowed
    ? allowed.flatMap((type) => recipient.channels.filter((c) => c.type === type))
    : recipient.channels;
  return ordered.map((c) => ({ ...c, settings: { ...c.settings, locale: recipient.locale } }));
}

/** A notice's key on the recipient's `index`th channel; the first keeps the notice's own key. */
const channelKey = (baseKey: string, index: number): string =>
  index === 0 ? baseKey : `${baseKey}#${index}`;

/** Every key a notice to a recipient with `channelCount` channels may have been recorded under. */
export const channelKeys = (baseKey: string, channelCount: number): string[] =>
  Array.from({ length: Math.max(1, channelCount) }, (_, i) => channelKey(baseKey, i));

/** One channel's delivery record, as a notice's `claim` writes it. */
export interface ChannelRecord {
  idempotencyKey: string;
  channelType: string | null;
  address: string | null;
}

/** A notice to one recipient, told along their channels in order. */
export interface ChannelNotice<R extends Pick<HandlerRecord, 'id' | 'channels' | 'locale'>> {
  /** Null when they are not in the directory: recorded as having no channel. */
  recipient: R | null;
  /** Channel types allowed for this notice, in order of preference; any of the recipient's when null. */
  allowed: string[] | null;
  /** The key on the first channel; a fallback's adds `#` and the channel's place. */
  baseKey: string;
  /**
   * Writes the channel's delivery record with `status` unless it is there, and says what it holds.
   * `first` is set for the first channel a send is tried on.
   */
  claim(
    record: ChannelRecord,
    status: NotificationStatus,
    first: boolean,
  ): Promise<{ id: number; status: NotificationStatus }>;
  /** The message to the recipient as sent under `idempotencyKey`. */
  message(idempotencyKey: string, recipient: R): Promise<OutboundMessage>;
}

/**
 * Tries the recipient's channels in order, each with a delivery record of its own. A channel this
 * deployment has no configuration for is recorded as skipped ('no_channel'); one that fails for good
 * (refused, or out of retries) hands the notice to the next; a failure that may mend is thrown so that
 * Temporal retries it.
 */
export async function deliverAlongChannels<R extends Pick<HandlerRecord, 'id' | 'channels' | 'locale'>>(
  db: Sql,
  channels: ChannelRegistry,
  notice: ChannelNotice<R>,
  observer: SendObserver,
): Promise<DeliveryReport> {
  const { recipient, baseKey } = notice;
  const targets = recipient ? channelsFor(recipient, notice.allowed) : [];
  if (!recipient || targets.length === 0) {
    await notice.claim({ idempotencyKey: baseKey, channelType: null, address: null }, 'no_channel', false);
    return 'no-channel';
  }
  const failures: string[] = [];
  let tried = false;
  for (const [index, target] of targets.entries()) {
    const record = {
      idempotencyKey: channelKey(baseKey, index),
      channelType: target.type,
      address: target.address,
    };
    if (!channels.has(target.type)) {
      // Sent before this deployment dropped the channel's configuration: nothing more to do.
      if ((await notice.claim(record, 'no_channel', false)).status === 'delivered')
        return 'already-delivered';
      observer.log.warn({ channel: target.type }, 'channel not configured here: the notice goes to the next');
      failures.push(`${target.type}: not configured here`);
      continue;
    }
    const notification = await notice.claim(record, 'pending', !tried);
    tried = true;
    if (notification.status === 'delivered') return 'already-delivered';
    if (notification.status === 'digested') return 'digested';
    if (notification.status === 'failed') {
      failures.push(`${target.type}: failed before`);
      continue;
    }
    const message = await notice.message(record.idempotencyKey, recipient);
    const sent = await attemptSend(db, channels, notification.id, target, message, observer);
    if (sent === 'delivered' || isThrottled(sent)) return sent;
    if (!sent.final) {
      throw ApplicationFailure.create({
        type: 'DELIVERY_FAILED',
        message: `delivery to ${recipient.id} failed: ${sent.failed}`,
      });
    }
    failures.push(sent.failed);
  }
  if (!tried) return 'no-channel';
  throw ApplicationFailure.create({
    type: 'DELIVERY_FAILED',
    message: `every channel of ${recipient.id} failed: ${failures.join('; ')}`,
    nonRetryable: true,
  });
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
  const tolerance = lateSendToleranceMs(channel.sendLimits);
  // The vendor counts sends as they reach it, not as their slots say: slots are spaced as if each window
  // were longer by the lateness a send is allowed and as much again for its way there (a busy host writes
  // it late), so that it still falls outside the vendor's window of the send `max` slots after it. Within
  // a window the sends are staggered, so that they do not all leave, and queue, at once.
  const spaced = [
    ...channel.sendLimits.map((l) => ({ max: l.max, perMs: l.perMs + 2 * tolerance })),
    { max: 1, perMs: tolerance / Math.max(...channel.sendLimits.map((l) => l.max)) },
  ];
  for (let asked = 1; ; asked++) {
    const slot = await grantSendSlot(db, `${target.type}:${target.address}`, spaced, MAX_WAIT_IN_ACTIVITY_MS);
    if (!slot.granted) return { throttledForMs: slot.waitMs };
    const wait = slot.at - Date.now();
    if (wait > 0) await Context.current().sleep(wait);
    // A stall (a busy host, a GC pause) that makes this send late would bunch it with the sends of the
    // next slots, over the vendor's limit: take a fresh slot instead. A clock far off the database's
    // would make every slot look late, so only a few are given up.
    if (Date.now() - slot.at <= tolerance || asked === MAX_LATE_SLOTS) return null;
  }
}

/**
 * How late a send may go out in its slot: a tenth of the shortest window, and no more than a second,
 * which only a stall exceeds; every window is lengthened by twice this, so it is kept small.
 */
const lateSendToleranceMs = (limits: readonly { perMs: number }[]): number =>
  Math.min(...limits.map((l) => l.perMs / 10), MAX_LATE_SEND_MS);
const MAX_LATE_SEND_MS = 1_000;
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
  const started = performance.now();
  const result = await channel.send(target, message);
  const latencyMs = Math.round(performance.now() - started);
  const attempt = Context.current().info.attempt;
  const final = !result.ok && (!result.retryable || attempt >= DELIVERY_MAX_ATTEMPTS);
  await recordAttempt(db, notificationId, attempt, { ...result, final, latencyMs });
  const about = { notificationId, channel: target.type, type: message.type, latencyMs };
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
