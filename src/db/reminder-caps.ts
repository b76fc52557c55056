import {
  CAPPED_TYPES,
  DIGEST_MAX_DELAY_MS,
  decideReminder,
  type ReminderCaps,
} from '../domain/reminder-caps.js';
import type { Sql } from './client.js';
import { claimNotification, type NotificationKey, type NotificationStatus } from './notifications.js';

export interface ClaimedReminder {
  id: number;
  status: NotificationStatus;
  /** Set while the reminder is held back and not yet in a digest: when the digest should go. */
  digestAt: Date | null;
}

/**
 * Claims a reminder's notification row, held back as 'digested' when the recipient is over their cap.
 * The count and the insert happen under a per-recipient lock, so concurrent matters cannot both take
 * the last place.
 */
export async function claimCappedReminder(
  sql: Sql,
  key: NotificationKey & { recipientId: string },
  caps: ReminderCaps,
): Promise<ClaimedReminder> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`reminder-caps:${key.recipientId}`}))`;
    const [existing] = await tx<{ id: string; status: NotificationStatus; awaiting: boolean; at: Date }[]>`
      select id, status, status = 'digested' and digest_key is null as awaiting, created_at as at
      from notifications where idempotency_key = ${key.idempotencyKey}`;
    if (existing) {
      // A retry after the digest was asked for asks again: asking twice changes nothing.
      const digestAt = existing.awaiting ? new Date(existing.at.getTime() + DIGEST_MAX_DELAY_MS) : null;
      return { id: Number(existing.id), status: existing.status, digestAt };
    }
    const [clock] = await tx<{ now: Date }[]>`select now() as now`;
    const now = clock!.now;
    // One reminder is one, however many of the recipient's channels it was tried on.
    const sent = await tx<{ at: Date }[]>`
      select min(created_at) as at from notifications
      where recipient_id = ${key.recipientId} and type = any(${CAPPED_TYPES as string[]})
        and status in ('pending', 'delivered', 'failed') and created_at > ${now}::timestamptz - interval '1 day'
      group by matter_id, seq
      order by at desc limit ${caps.perDay}`;
    const decision = decideReminder(
      sent.map((r) => r.at.getTime()),
      caps,
      now.getTime(),
    );
    const claimed = await claimNotification(tx, key, decision.send ? 'pending' : 'digested');
    return { ...claimed, digestAt: decision.send ? null : new Date(decision.digestAt) };
  });
}
