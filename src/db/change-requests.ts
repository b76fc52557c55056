import type { Queryable } from './client.js';

export type ChangeKind = 'add' | 'modify' | 'delete';
export type ChangeStatus = 'pending' | 'approved' | 'rejected' | 'failed';

export interface ChangeRequestRow {
  id: string;
  kind: ChangeKind;
  matterId: string | null;
  source: string;
  externalId: string;
  proposed: Record<string, unknown>;
  current: Record<string, unknown> | null;
  diff: Record<string, unknown>;
  reason: string;
  /** When an approved change takes effect; null means at approval. */
  effectiveAt: Date | null;
  status: ChangeStatus;
  makerId: string;
  reviewerId: string | null;
  reviewComment: string | null;
  failure: string | null;
  createdAt: Date;
  decidedAt: Date | null;
}

const columns = (db: Queryable) => db`id, kind, matter_id as "matterId", source, external_id as "externalId",
  proposed, current, diff, reason, effective_at as "effectiveAt", status, maker_id as "makerId", reviewer_id as "reviewerId",
  review_comment as "reviewComment", failure, created_at as "createdAt", decided_at as "decidedAt"`;

export type NewChangeRequest = Pick<
  ChangeRequestRow,
  | 'kind'
  | 'matterId'
  | 'source'
  | 'externalId'
  | 'proposed'
  | 'current'
  | 'diff'
  | 'reason'
  | 'effectiveAt'
  | 'makerId'
> & {
  /** A source's versioned write: the version and content it holds while awaiting review. */
  sourceVersion?: { version: number; content: Record<string, unknown> };
};

/** Inserts a pending request; when one is already pending for the same matter, returns that one's id instead. */
export async function insertChangeRequest(
  db: Queryable,
  r: NewChangeRequest,
): Promise<{ created: ChangeRequestRow } | { pendingId: string }> {
  const [row] = await db<ChangeRequestRow[]>`
    insert into change_requests (kind, matter_id, source, external_id, proposed, current, diff, reason, effective_at, maker_id,
      source_version, source_content)
    values (${r.kind}, ${r.matterId}, ${r.source}, ${r.externalId}, ${db.json(r.proposed as never)},
      ${r.current ? db.json(r.current as never) : null}, ${db.json(r.diff as never)}, ${r.reason}, ${r.effectiveAt}, ${r.makerId},
      ${r.sourceVersion?.version ?? null}, ${r.sourceVersion ? db.json(r.sourceVersion.content as never) : null})
    on conflict (source, external_id) where status = 'pending' do nothing
    returning ${columns(db)}`;
  if (row) return { created: row };
  const [pending] = await db<{ id: string }[]>`
    select id from change_requests where source = ${r.source} and external_id = ${r.externalId} and status = 'pending'`;
  if (!pending) throw new Error('a pending change request vanished between insert and select');
  return { pendingId: pending.id };
}

export async function getChangeRequest(db: Queryable, id: string): Promise<ChangeRequestRow | null> {
  const [row] = await db<ChangeRequestRow[]>`select ${columns(db)} from change_requests where id = ${id}`;
  return row ?? null;
}

export async function listChangeRequests(
  db: Queryable,
  f: { status?: ChangeStatus; matterId?: string; makerId?: string },
  limit: number,
): Promise<ChangeRequestRow[]> {
  return [
    ...(await db<ChangeRequestRow[]>`
      select ${columns(db)} from change_requests
      where true
        ${f.status !== undefined ? db`and status = ${f.status}` : db``}
        ${f.matterId !== undefined ? db`and matter_id = ${f.matterId}` : db``}
        ${f.makerId !== undefined ? db`and maker_id = ${f.makerId}` : db``}
      order by created_at desc, id desc
      limit ${limit}`),
  ];
}

/** Only one reviewer can decide a pending request; the loser of a race gets null. */
export async function decide(
  db: Queryable,
  id: string,
  d: { status: 'approved' | 'rejected'; reviewerId: string; comment: string | null },
): Promise<ChangeRequestRow | null> {
  const [row] = await db<ChangeRequestRow[]>`
    update change_requests
    set status = ${d.status}, reviewer_id = ${d.reviewerId}, review_comment = ${d.comment}, decided_at = now()
    where id = ${id} and status = 'pending' and maker_id <> ${d.reviewerId}
    returning ${columns(db)}`;
  return row ?? null;
}

/** An approved request the matter refused (e.g. completed meanwhile) is kept, with why. */
export async function markApplied(
  db: Queryable,
  id: string,
  outcome: { matterId: string } | { failure: string },
): Promise<ChangeRequestRow> {
  const [row] = await db<ChangeRequestRow[]>`
    update change_requests set
      ${'matterId' in outcome ? db`matter_id = ${outcome.matterId}` : db`status = 'failed', failure = ${outcome.failure}`}
    where id = ${id}
    returning ${columns(db)}`;
  return row!;
}

/** Puts a decided request back in the queue when applying it never reached the matter. */
export async function reopenChangeRequest(db: Queryable, id: string): Promise<void> {
  await db`
    update change_requests set status = 'pending', reviewer_id = null, review_comment = null, decided_at = null
    where id = ${id}`;
}
