import { ApplicationFailure } from '@temporalio/common';
import type { ChangeOutcomeType, MatterView } from '../channels/channel.js';
import { matterViewOf } from '../channels/matter-view.js';
import { type ChangeRequestRow, getChangeRequest } from '../db/change-requests.js';
import { getHandler } from '../db/handlers.js';
import { getMatter } from '../db/matters.js';
import { claimNotification } from '../db/notifications.js';
import type { DeliveryReport } from './contracts.js';
import { deliverAlongChannels } from './delivery.js';
import type { ResolvedDeps } from './index.js';
import { activityLog } from './log.js';

export type ChangeRecipientRole = 'maker' | 'reviewer';

export interface ChangeOutcomeNotice {
  changeRequestId: string;
  recipientId: string;
  role: ChangeRecipientRole;
}

/** An addition that was not applied has no matter: its proposal stands in, under the request's id. */
function viewOfProposal(cr: ChangeRequestRow): MatterView {
  const p = cr.proposed as {
    title: string;
    handlerId: string;
    priority: string;
    details?: string;
    link?: string;
    dueAt?: string;
  };
  return {
    id: cr.id,
    source: cr.source,
    externalId: cr.externalId,
    title: p.title,
    details: p.details ?? null,
    link: p.link ?? null,
    dueAt: p.dueAt ?? null,
    priority: p.priority,
    status: 'not_created',
    handlerId: p.handlerId,
    createdAt: cr.createdAt.toISOString(),
  };
}

export function createChangeNoticeActivities(deps: ResolvedDeps) {
  const { sql, channels } = deps;

  return {
    /** Tells the maker or the reviewer how a change request ended; staff without a usable channel are recorded, not failed. */
    async deliverChangeOutcome(input: ChangeOutcomeNotice): Promise<DeliveryReport> {
      const cr = await getChangeRequest(sql, input.changeRequestId);
      if (!cr || cr.status === 'pending') {
        throw ApplicationFailure.create({
          type: 'CHANGE_NOT_DECIDED',
          message: `change request ${input.changeRequestId} has no outcome to tell`,
          nonRetryable: true,
        });
      }
      const type: ChangeOutcomeType = `change.${cr.status}`;
      const keyBase = {
        idempotencyKey: `change-outcome:${cr.id}:${input.recipientId}`,
        changeRequestId: cr.id,
        type,
        recipientId: input.recipientId,
      };
      const recipient = await getHandler(sql, input.recipientId);
      if (!recipient) {
        await claimNotification(sql, { ...keyBase, channelType: null, address: null }, 'no_recipient');
        return 'no-recipient';
      }
      const matter = cr.matterId ? await getMatter(sql, cr.matterId) : null;
      const log = activityLog(deps.log, { matterId: cr.matterId, changeRequestId: cr.id });
      return deliverAlongChannels(
        sql,
        channels,
        {
          recipient,
          allowed: null,
          baseKey: keyBase.idempotencyKey,
          claim: (record, status) => claimNotification(sql, { ...keyBase, ...record }, status),
          message: async (idempotencyKey, to) => ({
            type,
            matter: matter ? matterViewOf(matter) : viewOfProposal(cr),
            handler: { id: to.id, name: to.name },
            actions: [],
            idempotencyKey,
            data: {
              outcome: cr.status,
              role: input.role,
              changeRequestId: cr.id,
              kind: cr.kind,
              makerId: cr.makerId,
              reviewerId: cr.reviewerId,
              comment: cr.reviewComment,
              reason: cr.reason,
              diff: cr.diff,
              effectiveAt: cr.effectiveAt?.toISOString() ?? null,
              failure: cr.failure,
            },
          }),
        },
        { log, metrics: deps.metrics },
      );
    },
  };
}

export type ChangeNoticeActivities = ReturnType<typeof createChangeNoticeActivities>;
