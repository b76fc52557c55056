import type { Client } from '@temporalio/client';
import type { Principal } from '../db/api-tokens.js';
import type { Sql } from '../db/client.js';
import {
  type FilingRecord,
  getFiling,
  isSubscriber,
  recordFilingStepDirectly,
} from '../db/exception-filings.js';
import { getMatter } from '../db/matters.js';
import type { FilingAction } from '../domain/actions.js';
import { ActionRefusal } from '../domain/errors.js';
import { filingUpdate } from '../workflows/messages.js';
import { ApiError, conflict, forbidden, notFound } from './errors.js';
import { toApiError } from './temporal-errors.js';

const STAFF = new Set(['admin', 'manager', 'reviewer', 'auditor']);

/**
 * Filings read and worked on by their subscribers, for the API and the exception board alike. A step on an
 * open matter goes through its workflow, the one writer of its event log; on an ended matter no workflow
 * writes any more, so the step is recorded directly with the next seq.
 */
export function filingService({
  sql,
  temporal,
  actionTimeoutMs,
}: {
  sql: Sql;
  temporal: Client;
  actionTimeoutMs: number;
}) {
  async function load(id: string): Promise<FilingRecord> {
    const filing = await getFiling(sql, id);
    if (!filing) throw notFound('FILING_NOT_FOUND', `no exception filing ${id}`);
    return filing;
  }

  /** Staff read every filing; a handler those of the types they follow, and their own. */
  async function mayRead(p: Principal, f: FilingRecord): Promise<boolean> {
    if (STAFF.has(p.role)) return true;
    return p.role === 'handler' && (f.filedBy === p.subject || (await isSubscriber(sql, f.id, p.subject)));
  }

  /** Whether `p` may acknowledge and close this filing: a manager, or a subscriber of its type. */
  async function mayAct(p: Principal, f: FilingRecord): Promise<boolean> {
    if (p.role === 'admin' || p.role === 'manager') return true;
    return p.role === 'handler' && (await isSubscriber(sql, f.id, p.subject));
  }

  function refuseStep(f: FilingRecord, step: FilingAction['step']): void {
    if (f.status === 'closed') {
      throw conflict(
        ActionRefusal.FILING_CLOSED,
        `exception filing ${f.id} was already closed by ${f.closedBy}`,
      );
    }
    if (step === 'acknowledged' && f.status === 'acknowledged') {
      throw conflict(
        ActionRefusal.FILING_ACKNOWLEDGED,
        `exception filing ${f.id} was already acknowledged by ${f.acknowledgedBy}`,
      );
    }
  }

  /** Acknowledges or closes the filing as `p`; the caller has checked `p`'s role. */
  async function take(
    p: Principal,
    id: string,
    step: FilingAction['step'],
    note: string | undefined,
  ): Promise<FilingRecord> {
    const filing = await load(id);
    if (p.role === 'handler' && !(await isSubscriber(sql, filing.id, p.subject))) {
      throw forbidden(`only subscribers of exception type ${filing.eventType} may act on its filings`);
    }
    refuseStep(filing, step);
    const matter = await getMatter(sql, filing.matterId);
    if (matter?.status === 'open') {
      const action: FilingAction = { actorId: p.subject, filingId: id, filingSeq: filing.seq, step, note };
      try {
        await temporal.withDeadline(Date.now() + actionTimeoutMs, () =>
          temporal.workflow.getHandle(matter.workflowId).executeUpdate(filingUpdate, { args: [action] }),
        );
        return load(id);
      } catch (err) {
        const mapped = toApiError(err);
        // The matter ended meanwhile: its log is written directly now.
        if (!(mapped instanceof ApiError && mapped.code === ActionRefusal.NOT_OPEN)) throw mapped;
        if ((await getMatter(sql, filing.matterId))?.status === 'open') throw mapped;
      }
    }
    const done = await recordFilingStepDirectly(sql, {
      filingId: id,
      step,
      actorId: p.subject,
      note: note ?? null,
    });
    if (!done) refuseStep(await load(id), step);
    return load(id);
  }

  return { load, mayRead, mayAct, take };
}

export type FilingService = ReturnType<typeof filingService>;
