import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Registry } from 'prom-client';
import type { ChannelRegistry, OutboundMessage } from '../channels/channel.js';
import { matterViewOf } from '../channels/matter-view.js';
import { storeActionLinks } from '../db/action-links.js';
import { calendarInUse } from '../db/business-calendars.js';
import type { Sql } from '../db/client.js';
import { actingFor } from '../db/delegations.js';
import { recordMatterEvent } from '../db/events.js';
import { activeMembers, getGroup } from '../db/groups.js';
import { getHandler, quietHoursOf } from '../db/handlers.js';
import { claimNotification } from '../db/notifications.js';
import { claimCappedReminder } from '../db/reminder-caps.js';
import { ROUND_THE_CLOCK } from '../domain/calendar.js';
import type { PlanningContext } from '../domain/planner.js';
import { isCappedType, type ReminderCaps } from '../domain/reminder-caps.js';
import { createLogger, type Logger } from '../logger.js';
import { type WorkerMetrics, workerMetrics } from '../metrics.js';
import { deriveNonce, signActionToken } from '../security/action-token.js';
import { createChangeNoticeActivities } from './change-notices.js';
import type {
  DeliverNoticeInput,
  DeliveryReport,
  HandlerRef,
  PlanningQuery,
  RecordEventInput,
} from './contracts.js';
import { isThrottled } from './contracts.js';
import { createConvergeActivities } from './converge.js';
import { deliverAlongChannels, type SendObserver, sendClaimed } from './delivery.js';
import { createDigestActivities } from './digest.js';
import { activityLog } from './log.js';

export interface ActivityDeps {
  sql: Sql;
  channels: ChannelRegistry;
  publicBaseUrl: string;
  linkSecret: string;
  actionLinkTtlMs: number;
  /** For recipients without caps of their own. */
  reminderCaps: ReminderCaps;
  /** Asks for the recipient's digest of held-back reminders by `digestAt` (idempotent). */
  foldReminder(recipientId: string, digestAt: Date): Promise<void>;
  /** Absent, nothing is logged (tests about I/O only). */
  log?: Logger;
  /** Absent, counted in a registry nobody scrapes. */
  metrics?: WorkerMetrics;
}

/** The deps every activity factory works with, the optional ones settled once. */
export type ResolvedDeps = ActivityDeps & SendObserver;

interface Recipient {
  recipientId: string;
  onBehalfOf: string | null;
}

const compact = (ids: (string | null | undefined)[]): string[] => ids.filter((id): id is string => !!id);

export function createActivities(given: ActivityDeps) {
  const deps: ResolvedDeps = {
    ...given,
    log: given.log ?? createLogger('silent'),
    metrics: given.metrics ?? workerMetrics(new Registry()),
  };
  const { sql, channels, metrics } = deps;

  /** This call's logger, every line naming the matter and the event's sequence number. */
  const logFor = (input: { state: { id: string }; seq: number }) =>
    activityLog(deps.log, { matterId: input.state.id, seq: input.seq });

  /** Whom a notice reaches, each with the person they receive it for when standing in. */
  async function resolveRecipients(input: DeliverNoticeInput): Promise<Recipient[]> {
    const r = input.recipient;
    const at = new Date(input.issuedAt);
    let people: string[];
    if (r.kind === 'handler') people = [r.handlerId];
    else if (r.kind === 'supervisorOf')
      people = compact([(await getHandler(sql, r.handlerId))?.supervisorId]);
    else if (r.kind === 'group') people = await activeMembers(sql, r.groupId);
    else if (r.kind === 'supervisorOfGroup')
      people = compact([(await getGroup(sql, r.groupId))?.supervisorId]);
    else {
      const members = await Promise.all(r.groupIds.map((g) => activeMembers(sql, g)));
      people = [...new Set([...r.handlerIds, ...members.flat()])];
    }
    const resolved = await Promise.all(
      people.map(async (id) => {
        const acting = await actingFor(sql, id, at);
        return { recipientId: acting, onBehalfOf: acting === id ? null : id };
      }),
    );
    // Two absent people may share a stand-in, who then gets the notice once.
    return [...new Map(resolved.map((x) => [x.recipientId, x])).values()];
  }

  /** The message itself, with action links minted for this notification and its recipient. */
  async function messageFor(
    input: DeliverNoticeInput,
    recipient: { id: string; name: string },
    onBehalfOf: string | null,
    idempotencyKey: string,
  ): Promise<OutboundMessage> {
    const expiresAt = new Date(Date.parse(input.issuedAt) + deps.actionLinkTtlMs);
    const links = input.actions.map((action) => ({
      action,
      token: signActionToken(deps.linkSecret, {
        matterId: input.state.id,
        handlerId: recipient.id,
        action,
        expiresAt: Math.floor(expiresAt.getTime() / 1000),
        nonce: deriveNonce(deps.linkSecret, idempotencyKey, action),
      }),
    }));
    await storeActionLinks(
      sql,
      links.map(({ action, token }) => ({
        token,
        matterId: input.state.id,
        handlerId: recipient.id,
        action,
        notificationKey: idempotencyKey,
        expiresAt,
      })),
    );
    const actions = links.map(({ action, token }) => ({ action, url: `${deps.publicBaseUrl}/a/${token}` }));
    return {
      type: input.type,
      matter: matterViewOf(input.state),
      handler: { id: recipient.id, name: recipient.name },
      actions,
      idempotencyKey,
      data: onBehalfOf ? { ...input.data, onBehalfOf } : input.data,
    };
  }

  /** The notice to one recipient, along their channels; a reminder over their cap waits for their digest. */
  async function deliverTo(input: DeliverNoticeInput, to: Recipient, log: Logger): Promise<DeliveryReport> {
    const { recipientId, onBehalfOf } = to;
    const keyBase = { matterId: input.state.id, seq: input.seq, type: input.type, onBehalfOf, recipientId };
    const recipient = await getHandler(sql, recipientId);
    const capped = isCappedType(input.type) && !input.state.reminderRule?.urgent;
    return deliverAlongChannels(
      sql,
      channels,
      {
        recipient,
        allowed: input.channels ?? null,
        baseKey: `${input.workflowId}:${input.seq}:${recipientId}`,
        async claim(record, status, first) {
          const key = { ...keyBase, ...record };
          // A fallback carries the same reminder: the cap was judged on the first channel tried.
          if (!(first && capped && recipient)) return claimNotification(sql, key, status);
          const claimed = await claimCappedReminder(sql, key, recipient.reminderCaps ?? deps.reminderCaps);
          if (claimed.digestAt) await deps.foldReminder(recipientId, claimed.digestAt);
          return claimed;
        },
        message: (idempotencyKey, handler) => messageFor(input, handler, onBehalfOf, idempotencyKey),
      },
      { log, metrics },
    );
  }

  /** An external subscriber: one signed POST through the webhook channel, keyed so a retry never repeats it. */
  async function deliverToWebhook(
    input: DeliverNoticeInput,
    url: string,
    log: Logger,
  ): Promise<DeliveryReport> {
    const idempotencyKey = `${input.workflowId}:${input.seq}:webhook:${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;
    const key = {
      matterId: input.state.id,
      seq: input.seq,
      type: input.type,
      onBehalfOf: null,
      idempotencyKey,
      recipientId: null,
      channelType: 'webhook',
      address: url,
    };
    if (!channels.has('webhook')) {
      await claimNotification(sql, key, 'no_channel');
      return 'no-channel';
    }
    const notification = await claimNotification(sql, key, 'pending');
    if (notification.status === 'delivered') return 'already-delivered';
    if (notification.status === 'failed') {
      throw ApplicationFailure.create({
        type: 'DELIVERY_FAILED',
        message: `webhook ${url} failed before`,
        nonRetryable: true,
      });
    }
    const handler = input.state.handlerId ? await getHandler(sql, input.state.handlerId) : null;
    const message: OutboundMessage = {
      type: input.type,
      matter: matterViewOf(input.state),
      // The matter's handler: the receiver is told who holds the matter, not whom it is for.
      handler: { id: handler?.id ?? '', name: handler?.name ?? '' },
      actions: [],
      idempotencyKey,
      data: input.data,
    };
    const target = { type: 'webhook', address: url, settings: {} };
    return sendClaimed(sql, channels, notification.id, target, message, url, { log, metrics });
  }

  return {
    ...createChangeNoticeActivities(deps),
    ...createDigestActivities(deps),
    ...createConvergeActivities(deps),

    async recordEvent(input: RecordEventInput): Promise<void> {
      // Counted only by the call that inserted the event, so a retried activity never counts twice.
      if (!(await recordMatterEvent(sql, input))) return;
      if (input.seq === 1) metrics.mattersCreated.inc();
      if (input.type === 'matter.completed') metrics.mattersCompleted.inc();
      logFor(input).info({ type: input.type, actorId: input.actorId }, 'matter event recorded');
    },

    /** The calendar a rule counts on (the latest version) and the handler's quiet hours in their zone. */
    async loadPlanningContext(query: PlanningQuery): Promise<PlanningContext> {
      const [calendar, handler] = await Promise.all([
        query.calendar ? calendarInUse(sql, query.calendar) : null,
        query.handlerId ? getHandler(sql, query.handlerId) : null,
      ]);
      return { calendar: calendar ?? ROUND_THE_CLOCK, quiet: handler && quietHoursOf(handler) };
    },

    async findHandler(id: string): Promise<HandlerRef | null> {
      const h = await getHandler(sql, id);
      return h ? { id: h.id, name: h.name, active: h.active, supervisorId: h.supervisorId } : null;
    },

    /**
     * Sends to every recipient the notice resolves to. Each has its own idempotency key, so a retry
     * after one receiver failed sends only to those not yet served.
     */
    async deliverNotice(input: DeliverNoticeInput): Promise<DeliveryReport> {
      const log = logFor(input);
      const recipients = await resolveRecipients(input);
      const webhooks = input.recipient.kind === 'subscribers' ? (input.recipient.webhooks ?? []) : [];
      if (recipients.length === 0 && webhooks.length === 0) {
        await claimNotification(
          sql,
          {
            matterId: input.state.id,
            seq: input.seq,
            type: input.type,
            onBehalfOf: null,
            idempotencyKey: `${input.workflowId}:${input.seq}:${input.recipient.kind}`,
            recipientId: null,
            channelType: null,
            address: null,
          },
          'no_recipient',
        );
        return 'no-recipient';
      }
      const outcomes = await Promise.allSettled([
        ...recipients.map((to) => deliverTo(input, to, log)),
        ...webhooks.map((url) => deliverToWebhook(input, url, log)),
      ]);
      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed.length === 0) {
        const values = outcomes.map((o) => (o as PromiseFulfilledResult<DeliveryReport>).value);
        // Those already served are not sent to again when the workflow asks once more.
        const throttled = values.filter(isThrottled);
        if (throttled.length > 0)
          return { throttledForMs: Math.min(...throttled.map((t) => t.throttledForMs)) };
        return values.find((v) => v === 'delivered') ?? values[0]!;
      }
      const retryable = failed.some(
        (f) => !(f.reason instanceof ApplicationFailure) || !f.reason.nonRetryable,
      );
      const first = failed[0]!.reason;
      throw ApplicationFailure.create({
        type: 'DELIVERY_FAILED',
        message: failed
          .map((f) => String(f.reason instanceof Error ? f.reason.message : f.reason))
          .join('; '),
        nonRetryable: !retryable,
        cause: first instanceof Error ? first : undefined,
      });
    },
  };
}

export type MatterActivities = ReturnType<typeof createActivities>;
