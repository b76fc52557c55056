import { randomUUID } from 'node:crypto';
import type { RecordEventInput } from '../activities/contracts.js';
import { audit } from './audit.js';
import type { Queryable, Sql } from './client.js';
import { callbackTarget } from './source-systems.js';

/** Events a source system hears back about; anything else stays inside matterflow. */
export const CALLBACK_EVENT_TYPES: ReadonlySet<string> = new Set([
  'matter.completed',
  'matter.transferred',
  'exception.filed',
  'matter.cancelled',
  'matter.returned',
  'transfer.rejected',
]);

export type CallbackStatus = 'pending' | 'delivered' | 'failed';
export const CALLBACK_STATUSES: readonly CallbackStatus[] = ['pending', 'delivered', 'failed'];

/**
 * Called inside the event's own transaction, after its row and projection: the callback exists exactly
 * when the event does. Keyed on (matter, seq), so a retried activity writes it once.
 */
export async function enqueueCallback(tx: Queryable, e: RecordEventInput): Promise<void> {
  if (!CALLBACK_EVENT_TYPES.has(e.type)) return;
  const [matter] = await tx<Record<string, unknown>[]>`
    select id, source, external_id as "externalId", title, status, handler_id as "handlerId",
      group_id as "groupId", priority, due_at as "dueAt", transfer_count as "transferCount",
      exception_count as "exceptionCount", completed_at as "completedAt", completed_by as "completedBy", outcome
    from matters where id = ${e.state.id}`;
  if (!matter) return;
  if (!(await callbackTarget(tx, String(matter.source)))) return;
  const id = randomUUID();
  const payload = {
    id,
    type: e.type,
    matter,
    event: { seq: e.seq, type: e.type, actorId: e.actorId, occurredAt: e.occurredAt, data: e.data },
  };
  await tx`
    insert into callback_outbox (id, source, matter_id, seq, event_type, payload)
    values (${id}, ${String(matter.source)}, ${e.state.id}, ${e.seq}, ${e.type}, ${tx.json(payload as never)})
    on conflict (matter_id, seq) do nothing`;
}

export interface ClaimedCallback {
  id: string;
  source: string;
  payload: Record<string, unknown>;
  /** This attempt's number, counted over the row's whole life. */
  attempt: number;
  budgetStartedAt: Date;
}

/**
 * Takes up to `limit` due callbacks and leases them for `leaseMs`: a dispatcher that dies mid-send leaves
 * them to be retried once the lease runs out. `skip locked` lets several dispatchers share the table, and a
 * matter's later callback waits for its earlier one, so a source hears a matter's events in order.
 */
export async function claimDueCallbacks(
  sql: Sql,
  limit: number,
  leaseMs: number,
): Promise<ClaimedCallback[]> {
  return [
    ...(await sql<ClaimedCallback[]>`
      update callback_outbox o
      set attempts = o.attempts + 1, next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
      from (
        select c.id from callback_outbox c
        where c.status = 'pending' and c.next_attempt_at <= now()
          and not exists (
            select 1 from callback_outbox e
            where e.matter_id = c.matter_id and e.status = 'pending' and e.seq < c.seq)
        order by c.next_attempt_at
        limit ${limit}
        for update of c skip locked
      ) due
      where o.id = due.id
      returning o.id, o.source, o.payload, o.attempts as attempt, o.budget_started_at as "budgetStartedAt"`),
  ];
}

/** When the next pending callback falls due, so an idle dispatcher sleeps no longer than needed. */
export async function nextDueAt(sql: Sql): Promise<Date | null> {
  const [row] = await sql<{ at: Date | null }[]>`
    select min(next_attempt_at) as at from callback_outbox where status = 'pending'`;
  return row?.at ?? null;
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
}

export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry'; at: Date }
  /** `reason` tells the audit log why it was given up. */
  | { kind: 'failed'; reason: string };

/**
 * Logs the attempt and moves the row on, in one transaction. A failure counts only while the attempt
 * still holds the lease (a later attempt may have taken over); an acknowledgement always counts.
 */
export async function recordAttempt(
  sql: Sql,
  c: ClaimedCallback,
  a: AttemptRecord,
  outcome: AttemptOutcome,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`
      insert into callback_attempts (outbox_id, attempt, started_at, duration_ms, http_status, error)
      values (${c.id}, ${c.attempt}, ${a.startedAt}, ${a.durationMs}, ${a.httpStatus}, ${a.error})
      on conflict (outbox_id, attempt) do nothing`;
    if (outcome.kind === 'delivered') {
      const done = await tx`
        update callback_outbox set status = 'delivered', delivered_at = now(), last_error = null
        where id = ${c.id} and status = 'pending' returning id`;
      return done.length > 0;
    }
    const error = a.error ?? `answered ${a.httpStatus}`;
    if (outcome.kind === 'retry') {
      const moved = await tx`
        update callback_outbox set next_attempt_at = ${outcome.at}, last_error = ${error}
        where id = ${c.id} and status = 'pending' and attempts = ${c.attempt} returning id`;
      return moved.length > 0;
    }
    const failed = await tx`
      update callback_outbox set status = 'failed', failed_at = now(), last_error = ${error}
      where id = ${c.id} and status = 'pending' and attempts = ${c.attempt} returning id`;
    if (failed.length === 0) return false;
    await audit(tx, {
      actorId: 'system',
      action: 'callback.failed',
      entityType: 'callback',
      entityId: c.id,
      after: { status: 'failed', attempts: c.attempt, lastError: error },
      reason: outcome.reason,
      data: { source: c.source },
    });
    return true;
  });
}

export interface CallbackAttemptRow {
  attempt: number;
  startedAt: Date;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
}

export interface CallbackRow {
  id: string;
  source: string;
  matterId: string;
  seq: number;
  eventType: string;
  status: CallbackStatus;
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  failedAt: Date | null;
  lastError: string | null;
  payload: Record<string, unknown>;
  attemptLog: CallbackAttemptRow[];
}

const rowColumns = (db: Queryable) => db`
  o.id, o.source, o.matter_id as "matterId", o.seq, o.event_type as "eventType", o.status, o.attempts,
  o.created_at as "createdAt", o.next_attempt_at as "nextAttemptAt", o.delivered_at as "deliveredAt",
  o.failed_at as "failedAt", o.last_error as "lastError", o.payload,
  coalesce((
    select jsonb_agg(jsonb_build_object(
      'attempt', a.attempt, 'startedAt', a.started_at, 'durationMs', a.duration_ms,
      'httpStatus', a.http_status, 'error', a.error) order by a.attempt)
    from callback_attempts a where a.outbox_id = o.id), '[]') as "attemptLog"`;

/** A source's callbacks, newest first, each with its attempts. */
export async function listCallbacks(
  db: Queryable,
  source: string,
  filter: { status?: CallbackStatus; limit: number },
): Promise<CallbackRow[]> {
  return [
    ...(await db<CallbackRow[]>`
      select ${rowColumns(db)} from callback_outbox o
      where o.source = ${source}
        ${filter.status ? db`and o.status = ${filter.status}` : db``}
      order by o.created_at desc, o.id
      limit ${filter.limit}`),
  ];
}

export async function findCallback(db: Queryable, source: string, id: string): Promise<CallbackRow | null> {
  const [row] = await db<CallbackRow[]>`
    select ${rowColumns(db)} from callback_outbox o where o.source = ${source} and o.id = ${id}`;
  return row ?? null;
}

export type RequeueResult =
  | { ok: true; row: CallbackRow }
  | { ok: false; reason: 'NOT_FOUND' | 'NOT_FAILED' };

/** An operator's second chance for a failed callback: due now, with a fresh retry budget; audited. */
export async function requeueCallback(
  sql: Sql,
  source: string,
  id: string,
  actorId: string,
): Promise<RequeueResult> {
  return sql.begin(async (tx) => {
    const [before] = await tx<{ status: CallbackStatus; lastError: string | null }[]>`
      select status, last_error as "lastError" from callback_outbox
      where source = ${source} and id = ${id} for update`;
    if (!before) return { ok: false, reason: 'NOT_FOUND' };
    if (before.status !== 'failed') return { ok: false, reason: 'NOT_FAILED' };
    await tx`
      update callback_outbox
      set status = 'pending', failed_at = null, next_attempt_at = now(), budget_started_at = now()
      where id = ${id}`;
    await audit(tx, {
      actorId,
      action: 'callback.requeued',
      entityType: 'callback',
      entityId: id,
      before: { status: before.status, lastError: before.lastError },
      after: { status: 'pending' },
      data: { source },
    });
    await tx`select pg_notify('callback_outbox', '')`;
    return { ok: true, row: (await findCallback(tx, source, id))! };
  });
}
