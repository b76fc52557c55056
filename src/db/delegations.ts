import { type DelegationWindow, MAX_DELEGATION_HOPS, resolveActing } from '../domain/delegation.js';
import type { Queryable } from './client.js';

export interface DelegationRecord {
  id: string;
  handlerId: string;
  delegateId: string;
  startsAt: Date;
  endsAt: Date;
  reason: string | null;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
  revokedBy: string | null;
}

const columns = (db: Queryable) =>
  db`id, handler_id as "handlerId", delegate_id as "delegateId", starts_at as "startsAt", ends_at as "endsAt",
  reason, created_by as "createdBy", created_at as "createdAt", revoked_at as "revokedAt", revoked_by as "revokedBy"`;

const toWindow = (r: {
  handlerId: string;
  delegateId: string;
  startsAt: Date;
  endsAt: Date;
}): DelegationWindow => ({
  handlerId: r.handlerId,
  delegateId: r.delegateId,
  startsAt: r.startsAt.getTime(),
  endsAt: r.endsAt.getTime(),
});

/** Serialises every writer of windows: a cycle check is only sound against a set nobody changes meanwhile. */
export async function lockDelegations(tx: Queryable): Promise<void> {
  await tx`select pg_advisory_xact_lock(7319402852)`;
}

/** Every live window that has not ended by `from`: what a new window must be checked against. */
export async function liveWindows(db: Queryable, from: Date): Promise<DelegationWindow[]> {
  const rows = await db<DelegationRecord[]>`
    select ${columns(db)} from delegations where revoked_at is null and ends_at > ${from}`;
  return rows.map(toWindow);
}

export async function insertDelegation(
  tx: Queryable,
  d: Omit<DelegationRecord, 'id' | 'createdAt' | 'revokedAt' | 'revokedBy'>,
): Promise<DelegationRecord> {
  const [row] = await tx<DelegationRecord[]>`
    insert into delegations (handler_id, delegate_id, starts_at, ends_at, reason, created_by)
    values (${d.handlerId}, ${d.delegateId}, ${d.startsAt}, ${d.endsAt}, ${d.reason}, ${d.createdBy})
    returning ${columns(tx)}`;
  return row!;
}

export async function listDelegations(db: Queryable, handlerId: string): Promise<DelegationRecord[]> {
  return [
    ...(await db<DelegationRecord[]>`
      select ${columns(db)} from delegations
      where handler_id = ${handlerId} or delegate_id = ${handlerId}
      order by starts_at desc limit 500`),
  ];
}

export async function getDelegation(db: Queryable, id: string): Promise<DelegationRecord | null> {
  const [row] = await db<
    DelegationRecord[]
  >`select ${columns(db)} from delegations where id = ${id} for update`;
  return row ?? null;
}

export async function revokeDelegation(tx: Queryable, id: string, by: string): Promise<DelegationRecord> {
  const [row] = await tx<DelegationRecord[]>`
    update delegations set revoked_at = now(), revoked_by = ${by}
    where id = ${id} and revoked_at is null
    returning ${columns(tx)}`;
  return row!;
}

/**
 * The windows open at `at` reachable from `handlerId`, forwards (stand-ins for them) or
 * backwards (those they stand in for). A delegate who has left stands in for nobody.
 */
async function windowsAt(
  db: Queryable,
  handlerId: string,
  at: Date,
  direction: 'forward' | 'backward',
): Promise<DelegationWindow[]> {
  const [from, to] = direction === 'forward' ? ['handler_id', 'delegate_id'] : ['delegate_id', 'handler_id'];
  const rows = await db<{ handlerId: string; delegateId: string; startsAt: Date; endsAt: Date }[]>`
    with recursive open as (
      select d.handler_id, d.delegate_id, d.starts_at, d.ends_at from delegations d
      join handlers h on h.id = d.delegate_id and h.active
      where d.revoked_at is null and d.starts_at <= ${at} and d.ends_at > ${at}
    ), reach(handler_id, delegate_id, starts_at, ends_at, depth) as (
      select o.*, 1 from open o where o.${db(from)} = ${handlerId}
      union all
      select o.*, r.depth + 1 from open o join reach r on o.${db(from)} = r.${db(to)}
      where r.depth < ${MAX_DELEGATION_HOPS}
    )
    select distinct handler_id as "handlerId", delegate_id as "delegateId", starts_at as "startsAt",
      ends_at as "endsAt"
    from reach`;
  return rows.map(toWindow);
}

/** Who receives `handlerId`'s notices at `at`: the end of the chain of stand-ins. */
export async function actingFor(db: Queryable, handlerId: string, at: Date): Promise<string> {
  return resolveActing(handlerId, at.getTime(), await windowsAt(db, handlerId, at, 'forward')).actingId;
}

/** True when `subject` is in the chain of stand-ins for `handlerId` right now. */
export async function standsInFor(
  db: Queryable,
  subject: string,
  handlerId: string,
  at = new Date(),
): Promise<boolean> {
  const { chain } = resolveActing(handlerId, at.getTime(), await windowsAt(db, handlerId, at, 'forward'));
  return chain.slice(1).includes(subject);
}

/** Everyone `subject` stands in for right now, so their matters show in the subject's inbox. */
export async function standingInFor(db: Queryable, subject: string, at = new Date()): Promise<string[]> {
  const windows = await windowsAt(db, subject, at, 'backward');
  const candidates = [...new Set(windows.map((w) => w.handlerId))].filter((h) => h !== subject);
  const all = [...windows];
  const results: string[] = [];
  for (const h of candidates) {
    if (resolveActing(h, at.getTime(), all).chain.slice(1).includes(subject)) results.push(h);
  }
  return results;
}
