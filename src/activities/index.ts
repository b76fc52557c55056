import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ChannelRegistry, MatterView, OutboundMessage } from '../channels/channel.js';
import { storeActionLink } from '../db/action-links.js';
import type { Sql } from '../db/client.js';
import { recordMatterEvent } from '../db/events.js';
import { getHandler } from '../db/handlers.js';
import { claimNotification, recordAttempt } from '../db/notifications.js';
import type { MatterState } from '../domain/matter.js';
import { deriveNonce, signActionToken } from '../security/action-token.js';
import {
  DELIVERY_MAX_ATTEMPTS,
  type DeliverNoticeInput,
  type DeliveryOutcome,
  type HandlerRef,
  type RecordEventInput,
} from './contracts.js';

export interface ActivityDeps {
  sql: Sql;
  channels: ChannelRegistry;
  publicBaseUrl: string;
  linkSecret: string;
  actionLinkTtlMs: number;
}

function matterView(state: MatterState): MatterView {
  return {
    id: state.id,
    source: state.source,
    externalId: state.externalId,
    title: state.title,
    details: state.details,
    link: state.link,
    dueAt: state.dueAt,
    priority: state.priority,
    status: state.status,
    handlerId: state.handlerId,
    createdAt: state.createdAt,
  };
}

export function createActivities(deps: ActivityDeps) {
  const { sql, channels } = deps;

  async function resolveRecipient(input: DeliverNoticeInput): Promise<string | null> {
    if (input.recipient.kind === 'handler') return input.recipient.handlerId;
    const handler = await getHandler(sql, input.recipient.handlerId);
    return handler?.supervisorId ?? null;
  }

  return {
    async recordEvent(input: RecordEventInput): Promise<void> {
      await recordMatterEvent(sql, input);
    },

    async findHandler(id: string): Promise<HandlerRef | null> {
      const h = await getHandler(sql, id);
      return h ? { id: h.id, name: h.name, active: h.active, supervisorId: h.supervisorId } : null;
    },

    async deliverNotice(input: DeliverNoticeInput): Promise<DeliveryOutcome> {
      const recipientId = await resolveRecipient(input);
      const keyBase = { matterId: input.state.id, seq: input.seq, type: input.type };
      if (!recipientId) {
        await claimNotification(
          sql,
          {
            ...keyBase,
            idempotencyKey: `${input.workflowId}:${input.seq}:${input.recipient.kind}`,
            recipientId: null,
            channelType: null,
            address: null,
          },
          'no_recipient',
        );
        return 'no-recipient';
      }
      const recipient = await getHandler(sql, recipientId);
      const target = recipient?.channels.find((c) => channels.has(c.type));
      const idempotencyKey = `${input.workflowId}:${input.seq}:${recipientId}`;
      if (!recipient || !target) {
        await claimNotification(
          sql,
          { ...keyBase, idempotencyKey, recipientId, channelType: null, address: null },
          'no_channel',
        );
        return 'no-channel';
      }
      const notification = await claimNotification(
        sql,
        { ...keyBase, idempotencyKey, recipientId, channelType: target.type, address: target.address },
        'pending',
      );
      if (notification.status === 'delivered') return 'already-delivered';

      const expiresAt = new Date(Date.parse(input.issuedAt) + deps.actionLinkTtlMs);
      const actions = [];
      for (const action of input.actions) {
        const token = signActionToken(deps.linkSecret, {
          matterId: input.state.id,
          handlerId: recipientId,
          action,
          expiresAt: Math.floor(expiresAt.getTime() / 1000),
          nonce: deriveNonce(deps.linkSecret, idempotencyKey, action),
        });
        await storeActionLink(sql, {
          token,
          matterId: input.state.id,
          handlerId: recipientId,
          action,
          notificationKey: idempotencyKey,
          expiresAt,
        });
        actions.push({ action, url: `${deps.publicBaseUrl}/a/${token}` });
      }
      const message: OutboundMessage = {
        type: input.type,
        matter: matterView(input.state),
        handler: { id: recipient.id, name: recipient.name },
        actions,
        idempotencyKey,
        data: input.data,
      };
      const channel = channels.get(target.type)!;
      const result = await channel.send(target, message);
      const attempt = Context.current().info.attempt;
      const final = !result.ok && (!result.retryable || attempt >= DELIVERY_MAX_ATTEMPTS);
      await recordAttempt(sql, notification.id, attempt, { ...result, final });
      if (result.ok) return 'delivered';
      throw ApplicationFailure.create({
        type: 'DELIVERY_FAILED',
        message: `${target.type} delivery to ${recipientId} failed: ${result.error}`,
        nonRetryable: !result.retryable,
      });
    },
  };
}

export type MatterActivities = ReturnType<typeof createActivities>;
