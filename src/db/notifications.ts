import type { Queryable } from './client.js';

export type NotificationStatus =
  | 'pending'
  | 'delivered'
  | 'failed'
  | 'no_recipient'
  | 'no_channel'
  | 'digested';

/** A notice is about a matter (one of its events) or about a change request's outcome. */
export type NotificationKey = {
  idempotencyKey: string;
  type: string;
  recipientId: string | null;
  channelType: string | null;
  address: string | null;
  /** The absent person a stand-in receives the notice for. */
  onBehalfOf?: string | null;
} & ({ matterId: string; seq: number } | { changeRequestId: string } | { digest: true });

/** The row is written before anything is sent, so a resend finds it and knows what happened. */
export async function claimNotification(
  db: Queryable,
  key: NotificationKey,
  initialStatus: NotificationStatus,
): Promise<{ id: number; status: NotificationStatus }> {
  const about =
    'matterId' in key
      ? { matterId: key.matterId, seq: key.seq, changeRequestId: null }
      : 'changeRequestId' in key
        ? { matterId: null, seq: null, changeRequestId: key.changeRequestId }
        : { matterId: null, seq: null, changeRequestId: null };
  await db`
    insert into notifications (idempotency_key, matter_id, seq, change_request_id, type, recipient_id, channel_type,
      address, status, on_behalf_of)
    values (${key.idempotencyKey}, ${about.matterId}, ${about.seq}, ${about.changeRequestId}, ${key.type},
      ${key.recipientId}, ${key.channelType}, ${key.address}, ${initialStatus}, ${key.onBehalfOf ?? null})
    on conflict (idempotency_key) do nothing`;
  const [row] = await db<{ id: string; status: NotificationStatus }[]>`
    select id, status from notifications where idempotency_key = ${key.idempotencyKey}`;
  if (!row) throw new Error(`notification ${key.idempotencyKey} not found after insert`);
  return { id: Number(row.id), status: row.status };
}

/** Whether a notice went out under any of its keys (one per channel it may have been tried on). */
export async function anyDelivered(db: Queryable, idempotencyKeys: string[]): Promise<boolean> {
  const [row] = await db<{ delivered: boolean }[]>`
    select exists (select 1 from notifications
      where idempotency_key = any(${idempotencyKeys}) and status = 'delivered') as delivered`;
  return row!.delivered;
}

export async function recordAttempt(
  db: Queryable,
  id: number,
  attempt: number,
  outcome: {
    ok: boolean;
    httpStatus?: number;
    error?: string;
    final: boolean;
    ref?: Record<string, string>;
    /** How long the channel's send took, to its answer or its failure. */
    latencyMs: number;
  },
): Promise<void> {
  await db`
    insert into notification_attempts (notification_id, attempt, ok, http_status, error, latency_ms)
    values (${id}, ${attempt}, ${outcome.ok}, ${outcome.httpStatus ?? null}, ${outcome.error ?? null},
      ${outcome.latencyMs})
    on conflict (notification_id, attempt) do nothing`;
  const status: NotificationStatus = outcome.ok ? 'delivered' : outcome.final ? 'failed' : 'pending';
  await db`
    update notifications set
      status = ${status},
      attempts = (select count(*) from notification_attempts where notification_id = ${id}),
      last_error = ${outcome.ok ? null : (outcome.error ?? null)},
      delivered_at = ${outcome.ok ? db`now()` : null},
      vendor_ref = ${outcome.ref ? db.json(outcome.ref) : null},
      updated_at = now()
    where id = ${id} and status <> 'delivered'`;
}

export interface NotificationRow {
  seq: number;
  type: string;
  recipientId: string | null;
  onBehalfOf: string | null;
  channelType: string | null;
  status: NotificationStatus;
  attempts: number;
  lastError: string | null;
  /** The latest attempt's; null before any attempt, or for one logged before latencies were. */
  latencyMs: number | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

export async function listNotifications(db: Queryable, matterId: string): Promise<NotificationRow[]> {
  return [
    ...(await db<NotificationRow[]>`
      select seq, type, recipient_id as "recipientId", on_behalf_of as "onBehalfOf", channel_type as "channelType", status, attempts,
        last_error as "lastError", created_at as "createdAt", delivered_at as "deliveredAt",
        (select a.latency_ms from notification_attempts a where a.notification_id = n.id
          order by a.attempt desc limit 1) as "latencyMs"
      from notifications n where matter_id = ${matterId} order by seq, id`),
  ];
}

export interface SentCard {
  id: number;
  channelType: string;
  address: string;
  recipientId: string;
  vendorRef: Record<string, string>;
  settings: Record<string, unknown>;
  /** The recipient's locale now, null for a recipient no longer in the directory. */
  locale: string | null;
}

/**
 * Messages about the matter that a vendor can still edit and that do not yet show its outcome: those sent for
 * events before the converging one (`beforeSeq`). Its own notices say the outcome already, and a transfer's
 * is the new holder's card, sent beside the convergence and still live.
 */
export async function cardsToConverge(
  db: Queryable,
  matterId: string,
  beforeSeq: number,
): Promise<SentCard[]> {
  return [
    ...(await db<SentCard[]>`
      select n.id::int as id, n.channel_type as "channelType", n.address, n.recipient_id as "recipientId",
        n.vendor_ref as "vendorRef", coalesce(c.settings, '{}'::jsonb) as settings, h.locale
      from notifications n
      left join handler_channels c
        on c.handler_id = n.recipient_id and c.type = n.channel_type and c.address = n.address
      left join handlers h on h.id = n.recipient_id
      where n.matter_id = ${matterId} and n.status = 'delivered' and n.vendor_ref is not null
        and n.converged_at is null and n.seq < ${beforeSeq}
      order by n.id`),
  ];
}

export async function markConverged(db: Queryable, id: number): Promise<void> {
  await db`update notifications set converged_at = now(), updated_at = now() where id = ${id}`;
}
