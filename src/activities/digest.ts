import type { Client } from '@temporalio/client';
import { matterViewOf } from '../channels/matter-view.js';
import { gatherDigest } from '../db/digests.js';
import { getHandler } from '../db/handlers.js';
import { mattersByIds } from '../db/matters.js';
import { anyDelivered, claimNotification } from '../db/notifications.js';
import { digestWorkflowId, reminderHeldSignal } from '../workflows/messages.js';
import type { reminderDigestWorkflow } from '../workflows/reminder-digest.js';
import type { DeliveryReport } from './contracts.js';
import { channelKeys, deliverAlongChannels } from './delivery.js';
import type { ActivityDeps, ResolvedDeps } from './index.js';
import { activityLog } from './log.js';

export interface DigestRequest {
  recipientId: string;
  /** One per digest the workflow sends; a retry reuses it. */
  digestKey: string;
}

const PRIORITY_RANK: Record<string, number> = { urgent: 0, high: 1, normal: 2, low: 3 };

export function createDigestActivities(deps: ResolvedDeps) {
  const { sql, channels } = deps;

  return {
    /** Sends the recipient one message listing the open matters whose reminders their cap held back. */
    async sendReminderDigest(input: DigestRequest): Promise<DeliveryReport | 'nothing-held'> {
      const { recipientId, digestKey } = input;
      const recipient = await getHandler(sql, recipientId);
      // Once sent, on any channel, nothing more is folded into it: a reminder held back since waits for the next.
      if (await anyDelivered(sql, channelKeys(digestKey, recipient?.channels.length ?? 0))) {
        return 'already-delivered';
      }
      const folded = await gatherDigest(sql, recipientId, digestKey);
      const counts = new Map(folded.map((f) => [f.matterId, f]));
      const open = (await mattersByIds(sql, [...counts.keys()]))
        .filter((m) => m.status === 'open')
        .sort(
          (a, b) =>
            (a.dueAt?.getTime() ?? Number.POSITIVE_INFINITY) -
              (b.dueAt?.getTime() ?? Number.POSITIVE_INFINITY) ||
            (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9),
        );
      if (open.length === 0) return 'nothing-held';
      const held = open.map((m) => ({
        id: m.id,
        title: m.title,
        dueAt: m.dueAt?.toISOString() ?? null,
        priority: m.priority,
        link: m.link,
        reminders: counts.get(m.id)?.reminders ?? 0,
        escalations: counts.get(m.id)?.escalations ?? 0,
      }));
      const log = activityLog(deps.log, { recipientId, digestKey });
      return deliverAlongChannels(
        sql,
        channels,
        {
          recipient,
          allowed: null,
          baseKey: digestKey,
          claim: (record, status) =>
            claimNotification(sql, { ...record, type: 'reminder.digest', recipientId, digest: true }, status),
          message: async (idempotencyKey, to) => ({
            type: 'reminder.digest',
            // The most pressing matter leads, for channels that show one matter per message.
            matter: matterViewOf(open[0]!),
            handler: { id: to.id, name: to.name },
            actions: [],
            idempotencyKey,
            data: {
              digest: {
                reminders: held.reduce((n, m) => n + m.reminders + m.escalations, 0),
                matters: held,
              },
            },
          }),
        },
        { log, metrics: deps.metrics },
      );
    },
  };
}

/** Starts the recipient's digest workflow, or tells the running one, that a reminder was held back. */
export function digestRequester(client: Client, taskQueue: string): ActivityDeps['foldReminder'] {
  return async (recipientId, digestAt) => {
    await client.workflow.signalWithStart<typeof reminderDigestWorkflow, [{ digestAt: string }]>(
      'reminderDigestWorkflow',
      {
        workflowId: digestWorkflowId(recipientId),
        taskQueue,
        args: [{ recipientId }],
        signal: reminderHeldSignal,
        signalArgs: [{ digestAt: digestAt.toISOString() }],
      },
    );
  };
}
