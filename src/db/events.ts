import type { RecordEventInput } from '../activities/contracts.js';
import { SETTLING_EVENTS } from '../domain/outcome.js';
import { audit } from './audit.js';
import { enqueueCallback } from './callback-outbox.js';
import type { Queryable, Sql } from './client.js';
import { applyFilingEvent } from './exception-filings.js';
import { applyProjection, matterSnapshot } from './matters.js';

/**
 * One transaction per event: the log row, the projection, and what the event implies for
 * filings, links and the source's callback. Keyed on (matter, seq), so a retried activity changes nothing twice.
 */
export async function recordMatterEvent(sql: Sql, e: RecordEventInput): Promise<boolean> {
  return sql.begin(async (tx) => {
    const inserted = await tx`
      insert into matter_events (matter_id, seq, type, actor_id, data, occurred_at)
      values (${e.state.id}, ${e.seq}, ${e.type}, ${e.actorId}, ${tx.json(e.data as never)}, ${e.occurredAt})
      on conflict (matter_id, seq) do nothing
      returning seq`;
    if (inserted.length === 0) return false;
    const before = await matterSnapshot(tx, e.state.id);
    await applyProjection(tx, e.state, e.seq);
    const after = await matterSnapshot(tx, e.state.id);
    await applyFilingEvent(tx, { ...e, matterId: e.state.id });
    const reassigned = e.type === 'matter.modified' && (e.data.changes as Record<string, unknown>)?.handlerId;
    if (
      e.type === 'matter.transferred' ||
      e.type === 'transfer.rejected' ||
      e.type === 'matter.completed' ||
      e.type === 'matter.cancelled' ||
      e.type === 'matter.returned' ||
      reassigned
    ) {
      await revokeLinks(tx, e.state.id, e.occurredAt);
    }
    await enqueueCallback(tx, e);
    // Last, because the chain's lock is held from this insert until commit and serialises every writer.
    await audit(tx, {
      actorId: e.actorId ?? 'system',
      actingFor: typeof e.data.onBehalfOf === 'string' ? e.data.onBehalfOf : null,
      action: e.type,
      entityType: 'matter',
      entityId: e.state.id,
      before,
      after,
      reason: reasonOf(e.data),
      data: { seq: e.seq, ...e.data },
    });
    return true;
  });
}

function reasonOf(data: Record<string, unknown>): string | null {
  const why = data.reason ?? data.comment ?? data.description;
  return typeof why === 'string' ? why : null;
}

/** Links die with the assignment they were minted for. */
async function revokeLinks(tx: Queryable, matterId: string, at: string): Promise<void> {
  await tx`
    update action_links set revoked_at = ${at}
    where matter_id = ${matterId} and used_at is null and revoked_at is null`;
}

export interface EventRow {
  seq: number;
  type: string;
  actorId: string | null;
  data: Record<string, unknown>;
  occurredAt: Date;
}

export async function listEvents(db: Queryable, matterId: string): Promise<EventRow[]> {
  return [
    ...(await db<EventRow[]>`
      select seq, type, actor_id as "actorId", data, occurred_at as "occurredAt"
      from matter_events where matter_id = ${matterId} order by seq`),
  ];
}

export interface FilingRow {
  id: string;
  seq: number;
  eventType: string;
  description: string;
  fields: Record<string, unknown>;
  attachments: unknown[];
  status: string;
  filedBy: string;
  filedAt: Date;
}

export async function listFilings(db: Queryable, matterId: string): Promise<FilingRow[]> {
  return [
    ...(await db<FilingRow[]>`
      select id, seq, event_type as "eventType", description, fields, attachments, status,
        filed_by as "filedBy", filed_at as "filedAt"
      from exception_filings where matter_id = ${matterId} order by seq`),
  ];
}

/** The latest event that settled who holds the matter, or whether it is still open, with the actor's name. */
export async function lastSettlingEvent(
  db: Queryable,
  matterId: string,
): Promise<{ type: string; by: string | null; to: string | null; at: Date } | null> {
  const [row] = await db<{ type: string; by: string | null; to: string | null; at: Date }[]>`
    select e.type, coalesce(h.name, e.actor_id) as by, coalesce(t.name, e.data->>'to') as to, e.occurred_at as at
    from matter_events e
    left join handlers h on h.id = e.actor_id
    left join handlers t on t.id = e.data->>'to'
    where e.matter_id = ${matterId} and e.type = any(${[...SETTLING_EVENTS]})
    order by e.seq desc limit 1`;
  return row ?? null;
}
