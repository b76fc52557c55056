import type { MatterStatus } from '../domain/matter.js';
import type { HeldContent } from '../domain/source-version.js';
import type { Queryable } from './client.js';

/** The version a source holds for one matter, and where it is held. */
export interface HeldVersion {
  version: number;
  content: HeldContent;
  /** Set while the version waits for review: it counts, but is not applied yet. */
  pendingChangeRequestId: string | null;
}

/**
 * The highest version the source sent that was accepted: written on the matter for direct writes,
 * or on an approved change request. Deriving it from the approved request (instead of copying it
 * to the matter after applying) means an approval is never half-recorded. A pending request's
 * version counts too, so a resend of it is recognized and an older write is stale.
 */
export async function heldVersion(
  db: Queryable,
  source: string,
  externalId: string,
): Promise<HeldVersion | null> {
  const [row] = await db<{ version: string; content: HeldContent; pendingId: string | null }[]>`
    select version::text, content, pending_id as "pendingId" from (
      select source_version as version, source_content as content, null::uuid as pending_id
      from matters
      where source = ${source} and external_id = ${externalId} and source_version is not null
      union all
      select source_version, source_content, case when status = 'pending' then id end
      from change_requests
      where source = ${source} and external_id = ${externalId} and source_version is not null
        and status in ('pending', 'approved')
    ) held
    order by version desc, pending_id nulls last
    limit 1`;
  return row
    ? { version: Number(row.version), content: row.content, pendingChangeRequestId: row.pendingId }
    : null;
}

/** Versions only go up, so a slow writer of an older version never overwrites a newer one. */
export async function acceptVersion(
  db: Queryable,
  matterId: string,
  version: number,
  content: HeldContent,
): Promise<void> {
  await db`
    update matters set source_version = ${version}, source_content = ${db.json(content as never)}
    where id = ${matterId} and (source_version is null or source_version < ${version})`;
}

export interface StaleUpdate {
  id: number;
  externalId: string;
  kind: 'upsert' | 'cancel';
  versionReceived: number;
  versionHeld: number;
  receivedBy: string;
  receivedAt: Date;
}

export async function recordStale(
  db: Queryable,
  s: {
    source: string;
    externalId: string;
    kind: 'upsert' | 'cancel';
    received: number;
    held: number;
    by: string;
  },
): Promise<void> {
  await db`
    insert into source_stale_updates (source, external_id, kind, version_received, version_held, received_by)
    values (${s.source}, ${s.externalId}, ${s.kind}, ${s.received}, ${s.held}, ${s.by})`;
}

export async function listStale(
  db: Queryable,
  source: string,
  page: { limit: number; after?: number },
): Promise<StaleUpdate[]> {
  const rows = await db<
    (Omit<StaleUpdate, 'id' | 'versionReceived' | 'versionHeld'> & Record<string, string>)[]
  >`
    select id::text, external_id as "externalId", kind, version_received::text as "versionReceived",
      version_held::text as "versionHeld", received_by as "receivedBy", received_at as "receivedAt"
    from source_stale_updates
    where source = ${source} ${page.after !== undefined ? db`and id > ${page.after}` : db``}
    order by id
    limit ${page.limit}`;
  return rows.map((r) => ({
    id: Number(r.id),
    externalId: r.externalId,
    kind: r.kind as StaleUpdate['kind'],
    versionReceived: Number(r.versionReceived),
    versionHeld: Number(r.versionHeld),
    receivedBy: r.receivedBy,
    receivedAt: r.receivedAt,
  }));
}

export interface Reconciliation {
  missingHere: string[];
  pendingReview: { externalId: string; changeRequestId: string }[];
  closedHere: {
    externalId: string;
    matterId: string;
    status: MatterStatus;
    completedAt: Date | null;
    completedBy: string | null;
    outcome: string | null;
  }[];
  openHereOnly: { externalId: string; matterId: string }[];
}

/** One set-based pass over the source's list against its matters, however long the list. */
export async function reconcile(db: Queryable, source: string, openIds: string[]): Promise<Reconciliation> {
  const rows = await db<
    {
      side: 'missing' | 'pending' | 'closed' | 'only';
      externalId: string;
      matterId: string | null;
      changeRequestId: string | null;
      status: MatterStatus | null;
      completedAt: Date | null;
      completedBy: string | null;
      outcome: string | null;
    }[]
  >`
    with theirs as (select distinct unnest(${openIds}::text[]) as external_id)
    select case when m.id is not null then 'closed' when c.id is not null then 'pending' else 'missing' end as side,
      t.external_id as "externalId", m.id as "matterId", c.id as "changeRequestId", m.status,
      m.completed_at as "completedAt", m.completed_by as "completedBy", m.outcome
    from theirs t
    left join matters m on m.source = ${source} and m.external_id = t.external_id
    left join change_requests c on c.source = ${source} and c.external_id = t.external_id
      and c.status = 'pending' and c.kind = 'add'
    where m.id is null or m.status <> 'open'
    union all
    select 'only', m.external_id, m.id, null, m.status, null, null, null
    from matters m
    where m.source = ${source} and m.status = 'open'
      and not exists (select 1 from theirs t where t.external_id = m.external_id)
    order by 2`;
  const result: Reconciliation = { missingHere: [], pendingReview: [], closedHere: [], openHereOnly: [] };
  for (const r of rows) {
    if (r.side === 'missing') result.missingHere.push(r.externalId);
    else if (r.side === 'pending')
      result.pendingReview.push({ externalId: r.externalId, changeRequestId: r.changeRequestId! });
    else if (r.side === 'closed')
      result.closedHere.push({
        externalId: r.externalId,
        matterId: r.matterId!,
        status: r.status!,
        completedAt: r.completedAt,
        completedBy: r.completedBy,
        outcome: r.outcome,
      });
    else result.openHereOnly.push({ externalId: r.externalId, matterId: r.matterId! });
  }
  return result;
}
