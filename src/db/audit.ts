import type { Queryable } from './client.js';

export async function audit(
  db: Queryable,
  entry: { actorId: string; action: string; subject: string; data?: Record<string, unknown> },
): Promise<void> {
  await db`
    insert into audit_log (actor_id, action, subject, data)
    values (${entry.actorId}, ${entry.action}, ${entry.subject}, ${db.json((entry.data ?? {}) as never)})`;
}
