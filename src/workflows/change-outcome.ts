import { log, proxyActivities } from '@temporalio/workflow';
import type {
  ChangeNoticeActivities,
  ChangeOutcomeNotice,
  ChangeRecipientRole,
} from '../activities/change-notices.js';
import type { DeliveryOutcome } from '../activities/contracts.js';
import { DELIVERY_ACTIVITY_OPTIONS } from './delivery-options.js';
import { untilSent } from './until-sent.js';

const { deliverChangeOutcome } = proxyActivities<ChangeNoticeActivities>(DELIVERY_ACTIVITY_OPTIONS);

export interface ChangeOutcomeInput {
  changeRequestId: string;
  makerId: string;
  reviewerId: string | null;
}

export interface ChangeOutcomeDelivery {
  recipientId: string;
  role: ChangeRecipientRole;
  outcome: DeliveryOutcome | 'undeliverable';
}

/** Tells a decided change request's maker and reviewer its outcome, each on their own, each retried. */
export async function changeOutcomeWorkflow(input: ChangeOutcomeInput): Promise<ChangeOutcomeDelivery[]> {
  const { changeRequestId } = input;
  const notices: ChangeOutcomeNotice[] = [{ changeRequestId, recipientId: input.makerId, role: 'maker' }];
  if (input.reviewerId) notices.push({ changeRequestId, recipientId: input.reviewerId, role: 'reviewer' });
  // Concurrent, so a receiver that is down holds back no one else's notice.
  return Promise.all(
    notices.map(async ({ recipientId, role }) => {
      const outcome = await untilSent(() =>
        deliverChangeOutcome({ changeRequestId, recipientId, role }),
      ).catch((err) => {
        // The delivery log already holds every failed attempt.
        log.warn('change outcome undeliverable', { changeRequestId, recipientId, error: String(err) });
        return 'undeliverable' as const;
      });
      return { recipientId, role, outcome };
    }),
  );
}
