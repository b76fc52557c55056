import type { Queryable } from './client.js';

export interface FoldedReminders {
  matterId: string;
  reminders: number;
  escalations: number;
}

/**
 * Puts every reminder held back for the recipient into the digest `digestKey` and lists what the digest
 * holds, per matter. Asking again with the same key lists the same reminders, and any held back since.
 */
export async function gatherDigest(
  db: Queryable,
  recipientId: string,
  digestKey: string,
): Promise<FoldedReminders[]> {
  await db`
    update notifications set digest_key = ${digestKey}, updated_at = now()
    where recipient_id = ${recipientId} and status = 'digested' and digest_key is null`;
  const rows = await db<{ matterId: string; reminders: string; escalations: string }[]>`
    select matter_id as "matterId", count(*) filter (where type = 'matter.reminder') as reminders,
      count(*) filter (where type = 'matter.escalated') as escalations
    from notifications where digest_key = ${digestKey} and status = 'digested'
    group by matter_id`;
  return rows.map((r) => ({
    matterId: r.matterId,
    reminders: Number(r.reminders),
    escalations: Number(r.escalations),
  }));
}
