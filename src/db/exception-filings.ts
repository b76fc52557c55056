import type { RecordEventInput } from '../activities/contracts.js';
import type { Attachment, FilingStatus, OnFiling } from '../domain/exception-type.js';
import { audit } from './audit.js';
import type { Queryable, Sql } from './client.js';

export interface FilingRecord {
  id: string;
  matterId: string;
  seq: number;
  eventType: string;
  typeVersion: number | null;
  severity: string | null;
  onFiling: OnFiling;
  description: string;
  fields: Record<string, unknown>;
  attachments: Attachment[];
  filedBy: string;
  filedAt: Date;
  status: FilingStatus;
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  acknowledgedNote: string | null;
  closedBy: string | null;
  closedAt: Date | null;
  closedNote: string | null;
}

const columns = (db: Queryable) => db`
  id, matter_id as "matterId", seq, event_type as "eventType", type_version as "typeVersion", severity,
  on_filing as "onFiling", description, fields, attachments, filed_by as "filedBy", filed_at as "filedAt", status,
  acknowledged_by as "acknowledgedBy", acknowledged_at as "acknowledgedAt", acknowledged_note as "acknowledgedNote",
  closed_by as "closedBy", closed_at as "closedAt", closed_note as "closedNote"`;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * What a recorded event means for the filings table, in the event's own transaction: `exception.filed` adds
 * the filing, `exception.acknowledged` and `exception.closed` move it on. The event row is keyed on
 * (matter, seq), so this runs once per event.
 */
export async function applyFilingEvent(
  tx: Queryable,
  e: Omit<RecordEventInput, 'state' | 'workflowId'> & {
    matterId: string;
  },
): Promise<void> {
  const d = e.data;
  if (e.type === 'exception.filed') {
    // Filings from before the API named them take the table's generated id.
    const id = str(d.filingId);
    await tx`
      insert into exception_filings (id, matter_id, seq, event_type, type_version, severity, on_filing,
        description, fields, attachments, filed_by, filed_at)
      values (${id ?? tx`gen_random_uuid()`}, ${e.matterId}, ${e.seq}, ${String(d.eventType)},
        ${typeof d.eventTypeVersion === 'number' ? d.eventTypeVersion : null}, ${str(d.severity)},
        ${str(d.onFiling) ?? 'leave_open'}, ${String(d.description)}, ${tx.json((d.fields ?? {}) as never)},
        ${tx.json((d.attachments ?? []) as never)}, ${e.actorId ?? ''}, ${e.occurredAt})
      on conflict (matter_id, seq) do nothing`;
  } else if (e.type === 'exception.acknowledged') {
    await tx`
      update exception_filings set status = 'acknowledged', acknowledged_by = ${e.actorId},
        acknowledged_at = ${e.occurredAt}, acknowledged_note = ${str(d.note)}
      where matter_id = ${e.matterId} and seq = ${Number(d.filingSeq)} and status = 'open'`;
  } else if (e.type === 'exception.closed') {
    await tx`
      update exception_filings set status = 'closed', closed_by = ${e.actorId}, closed_at = ${e.occurredAt},
        closed_note = ${str(d.note)}
      where matter_id = ${e.matterId} and seq = ${Number(d.filingSeq)} and status <> 'closed'`;
  }
}

export async function getFiling(db: Queryable, id: string): Promise<FilingRecord | null> {
  const [row] = await db<FilingRecord[]>`select ${columns(db)} from exception_filings where id = ${id}`;
  return row ?? null;
}

export interface FilingFilter {
  status?: FilingStatus;
  type?: string;
  matterId?: string;
  /** A handler sees the filings of the types they subscribe to, themselves or through a group. */
  subscriber?: string;
}

/** The exception board: open ones first, then acknowledged, then closed; newest first within each. */
export async function listFilingRecords(
  db: Queryable,
  f: FilingFilter,
  limit: number,
): Promise<FilingRecord[]> {
  return [
    ...(await db<FilingRecord[]>`
      select ${columns(db)} from exception_filings f
      where true
        ${f.status !== undefined ? db`and status = ${f.status}` : db``}
        ${f.type !== undefined ? db`and event_type = ${f.type}` : db``}
        ${f.matterId !== undefined ? db`and matter_id = ${f.matterId}` : db``}
        ${f.subscriber !== undefined ? db`and ${subscribedBy(db, f.subscriber)}` : db``}
      order by case status when 'open' then 0 when 'acknowledged' then 1 else 2 end, filed_at desc, id
      limit ${limit}`),
  ];
}

/** Whether the filing's type, as filed, names the handler or one of their groups among its subscribers. */
function subscribedBy(db: Queryable, handlerId: string) {
  return db`exists (
    select 1 from exception_type_subscribers s
    where s.code = f.event_type and s.version = f.type_version
      and (s.handler_id = ${handlerId}
        or s.group_id in (select group_id from group_members where handler_id = ${handlerId})))`;
}

export async function isSubscriber(db: Queryable, filingId: string, handlerId: string): Promise<boolean> {
  const rows =
    await db`select 1 from exception_filings f where id = ${filingId} and ${subscribedBy(db, handlerId)}`;
  return rows.length > 0;
}

/**
 * Acknowledges or closes a filing of a matter that has ended: no workflow writes its log any more, so the
 * event takes the next seq here, with the matter's row locked so two such writes cannot take the same one.
 * Null when the filing was already past this step.
 */
export async function recordFilingStepDirectly(
  sql: Sql,
  s: { filingId: string; step: 'acknowledged' | 'closed'; actorId: string; note: string | null },
): Promise<{ seq: number; status: string } | null> {
  return sql.begin(async (tx) => {
    const [filing] = await tx<{ matterId: string; seq: number; status: FilingStatus }[]>`
      select matter_id as "matterId", seq, status from exception_filings where id = ${s.filingId}`;
    if (!filing) return null;
    const [matter] = await tx<{ status: string }[]>`
      select status from matters where id = ${filing.matterId} for update`;
    const [current] = await tx<{ status: FilingStatus }[]>`
      select status from exception_filings where id = ${s.filingId}`;
    if (current?.status === 'closed' || (s.step === 'acknowledged' && current?.status !== 'open'))
      return null;
    const [last] = await tx<{ seq: number }[]>`
      select coalesce(max(seq), 0) as seq from matter_events where matter_id = ${filing.matterId}`;
    const next = (last?.seq ?? 0) + 1;
    const type = s.step === 'closed' ? 'exception.closed' : 'exception.acknowledged';
    const occurredAt = new Date().toISOString();
    const data = { filingId: s.filingId, filingSeq: filing.seq, note: s.note };
    await tx`
      insert into matter_events (matter_id, seq, type, actor_id, data, occurred_at)
      values (${filing.matterId}, ${next}, ${type}, ${s.actorId}, ${tx.json(data)}, ${occurredAt})`;
    await applyFilingEvent(tx, {
      matterId: filing.matterId,
      seq: next,
      type,
      actorId: s.actorId,
      occurredAt,
      data,
    });
    await audit(tx, {
      actorId: s.actorId,
      action: type,
      entityType: 'matter',
      entityId: filing.matterId,
      reason: s.note,
      data: { seq: next, ...data },
    });
    return { seq: next, status: matter?.status ?? 'open' };
  });
}
