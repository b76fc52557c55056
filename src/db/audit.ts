import type { Queryable, Sql } from './client.js';

export interface AuditEntry {
  actorId: string;
  /** Whom the actor acted for, when not for themselves. */
  actingFor?: string | null;
  action: string;
  entityType: string;
  entityId: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  reason?: string | null;
  data?: Record<string, unknown>;
}

/** Appends to the hash chain; the database trigger links the row, so no writer can skip it. */
export async function audit(db: Queryable, e: AuditEntry): Promise<void> {
  const json = (v: unknown) => (v === null || v === undefined ? null : db.json(v as never));
  await db`
    insert into audit_log (actor_id, acting_for, action, subject, entity_type, entity_id, before, after, reason, data)
    values (${e.actorId}, ${e.actingFor ?? null}, ${e.action}, ${e.entityId}, ${e.entityType}, ${e.entityId},
      ${json(e.before)}, ${json(e.after)}, ${e.reason ?? null}, ${db.json((e.data ?? {}) as never)})`;
}

export interface AuditRow {
  chainSeq: number;
  actorId: string;
  actingFor: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
  data: Record<string, unknown>;
  at: Date;
  hash: string;
}

export interface AuditFilter {
  entityType?: string;
  entityId?: string;
  actorId?: string;
  from?: string;
  to?: string;
}

export async function listAudit(
  db: Queryable,
  f: AuditFilter,
  page: { limit: number; afterSeq?: number },
): Promise<AuditRow[]> {
  const rows = await db<(Omit<AuditRow, 'chainSeq'> & { chainSeq: string })[]>`
    select chain_seq as "chainSeq", actor_id as "actorId", acting_for as "actingFor", action,
      entity_type as "entityType", entity_id as "entityId", before, after, reason, data, at, hash
    from audit_log
    where true
      ${f.entityType !== undefined ? db`and entity_type = ${f.entityType}` : db``}
      ${f.entityId !== undefined ? db`and entity_id = ${f.entityId}` : db``}
      ${f.actorId !== undefined ? db`and actor_id = ${f.actorId}` : db``}
      ${f.from !== undefined ? db`and at >= ${f.from}` : db``}
      ${f.to !== undefined ? db`and at < ${f.to}` : db``}
      ${page.afterSeq !== undefined ? db`and chain_seq > ${page.afterSeq}` : db``}
    order by chain_seq
    limit ${page.limit}`;
  return rows.map((r) => ({ ...r, chainSeq: Number(r.chainSeq) }));
}

export interface ChainBreak {
  chainSeq: number;
  id: number;
  problem: 'ROW_ALTERED' | 'ROWS_MISSING' | 'LINK_BROKEN';
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  /** Record the head elsewhere: a chain cut short at its end can only be caught against it. */
  head: { chainSeq: number; hash: string } | null;
  firstBreak: ChainBreak | null;
}

/** Recomputes every link in the database, where the hash was made, a batch at a time. */
export async function verifyAuditChain(sql: Sql): Promise<ChainReport> {
  let checked = 0;
  let head: ChainReport['head'] = null;
  let firstBreak: ChainBreak | null = null;
  let previous: { chainSeq: number; hash: string } | null = null;
  const cursor = sql<
    { id: string; chainSeq: string; hash: string; prevHash: string | null; expected: string }[]
  >`
    select id, chain_seq as "chainSeq", hash, prev_hash as "prevHash", audit_row_hash(prev_hash, a) as expected
    from audit_log a order by chain_seq`.cursor(500);
  for await (const rows of cursor) {
    for (const r of rows) {
      const chainSeq = Number(r.chainSeq);
      checked += 1;
      if (!firstBreak) {
        const problem: ChainBreak['problem'] | null =
          chainSeq !== (previous?.chainSeq ?? 0) + 1
            ? 'ROWS_MISSING'
            : r.prevHash !== (previous?.hash ?? null)
              ? 'LINK_BROKEN'
              : r.hash !== r.expected
                ? 'ROW_ALTERED'
                : null;
        if (problem) firstBreak = { chainSeq, id: Number(r.id), problem };
      }
      previous = { chainSeq, hash: r.hash };
      head = previous;
    }
  }
  return { ok: firstBreak === null, checked, head, firstBreak };
}
