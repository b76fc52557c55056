import type { Client } from '@temporalio/client';
import { audit } from '../db/audit.js';
import {
  type ChangeRequestRow,
  decide,
  getChangeRequest,
  insertChangeRequest,
  markApplied,
  type NewChangeRequest,
  reopenChangeRequest,
} from '../db/change-requests.js';
import type { Sql } from '../db/client.js';
import type { MatterRow } from '../db/matters.js';
import { changesOf } from '../domain/actions.js';
import type { MatterState } from '../domain/matter.js';
import type { Logger } from '../logger.js';
import { changeOutcomeNotices } from './change-outcome-notices.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from './errors.js';
import type { MatterService } from './matter-service.js';
import type { ChangeRequestBody, MatterInputBody } from './schemas.js';

/** The modifiable fields of a matter, as a change request shows them. */
export function definitionOf(row: MatterRow) {
  return {
    title: row.title,
    details: row.details,
    link: row.link,
    dueAt: row.dueAt?.toISOString() ?? null,
    priority: row.priority,
    reminderRule: row.reminderRule,
    handlerId: row.handlerId,
  };
}

export interface ChangeServiceDeps {
  sql: Sql;
  matters: MatterService;
  temporal: Client;
  taskQueue: string;
  actionTimeoutMs: number;
  log: Logger;
}

/**
 * Four eyes on every manager's change: a request holds the full proposal and its diff; only a
 * different person's approval applies it to the matter. Maker and reviewer are told how it ended.
 */
export function changeService({
  sql,
  matters,
  temporal,
  taskQueue,
  actionTimeoutMs,
  log,
}: ChangeServiceDeps) {
  const notifyOutcome = changeOutcomeNotices({ temporal, taskQueue, timeoutMs: actionTimeoutMs, log });

  async function openMatter(matterId: string): Promise<MatterRow> {
    const row = await matters.load(matterId);
    if (row.status !== 'open') throw conflict('MATTER_NOT_OPEN', `matter is already ${row.status}`);
    return row;
  }

  async function proposal(body: ChangeRequestBody, makerId: string): Promise<NewChangeRequest> {
    const effectiveAt = body.effectiveAt ? new Date(body.effectiveAt) : null;
    if (body.kind === 'add') {
      const priority = body.matter.priority ?? 'normal';
      const { reminderRule, reminderRuleRef } = await matters.resolveRule(body.matter);
      // A template is pinned to the version the reviewer sees; approval applies exactly that one.
      const matter = reminderRuleRef
        ? { ...body.matter, priority, reminderRuleRef }
        : { ...body.matter, priority, reminderRule };
      await matters.checkAssignee(matter);
      const [exists] = await sql`
        select 1 from matters where source = ${matter.source} and external_id = ${matter.externalId}`;
      if (exists)
        throw conflict('MATTER_EXISTS', `matter ${matter.source}/${matter.externalId} already exists`);
      const diff = Object.fromEntries(Object.entries(matter).map(([k, v]) => [k, { from: null, to: v }]));
      return {
        kind: 'add',
        matterId: null,
        source: matter.source,
        externalId: matter.externalId,
        proposed: matter,
        current: null,
        diff,
        reason: body.reason,
        effectiveAt,
        makerId,
      };
    }
    const row = await openMatter(body.matterId);
    const current = definitionOf(row);
    const base = {
      matterId: row.id,
      source: row.source,
      externalId: row.externalId,
      current,
      reason: body.reason,
      effectiveAt,
      makerId,
    };
    if (body.kind === 'delete') {
      return { ...base, kind: 'delete', proposed: {}, diff: { status: { from: 'open', to: 'cancelled' } } };
    }
    const diff = changesOf(
      current as unknown as MatterState,
      { actorId: makerId, reason: body.reason, ...body.changes } as never,
    );
    if (Object.keys(diff).length === 0) {
      throw badRequest('NO_CHANGE', 'every proposed value equals the current one', [
        { field: 'body.changes' },
      ]);
    }
    if (body.changes.reminderRule)
      await matters.checkRule(body.changes.reminderRule, 'body.changes.reminderRule');
    if (body.changes.handlerId && diff.handlerId)
      await matters.checkAssignee({ handlerId: body.changes.handlerId });
    return { ...base, kind: 'modify', proposed: body.changes, diff };
  }

  async function apply(cr: ChangeRequestRow, reviewerId: string): Promise<ChangeRequestRow> {
    const review = { changeRequestId: cr.id, approvedBy: reviewerId };
    const later = cr.effectiveAt && cr.effectiveAt.getTime() > Date.now() ? cr.effectiveAt : null;
    try {
      if (cr.kind === 'add') {
        const body = cr.proposed as unknown as MatterInputBody;
        const created = await matters.create(body, cr.makerId, { startAt: later });
        // The new matter's own trail names only its maker: this row ties it to the review that let it in.
        return await sql.begin(async (tx) => {
          const applied = await markApplied(tx, cr.id, { matterId: created.id });
          await audit(tx, {
            actorId: reviewerId,
            action: 'change_request.applied',
            entityType: 'change_request',
            entityId: cr.id,
            after: { matterId: created.id },
          });
          return applied;
        });
      }
      const change =
        cr.kind === 'modify'
          ? ({
              kind: 'modify',
              action: { actorId: cr.makerId, reason: cr.reason, review, ...cr.proposed },
            } as const)
          : ({ kind: 'delete', action: { actorId: cr.makerId, reason: cr.reason, review } } as const);
      if (later) {
        // The matter's workflow holds the approved change durably and applies it at its time.
        await matters.schedule(cr.matterId!, {
          changeRequestId: cr.id,
          effectiveAt: later.toISOString(),
          ...change,
        });
      } else if (change.kind === 'modify') {
        await matters.modify(cr.matterId!, change.action);
      } else {
        await matters.cancel(cr.matterId!, change.action);
      }
      return cr;
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode >= 500) {
        // Nothing reached the matter: the request goes back to the queue for another try.
        await reopenChangeRequest(sql, cr.id);
        throw err;
      }
      const failed = await markApplied(sql, cr.id, { failure: `${err.code}: ${err.message}` });
      await audit(sql, {
        actorId: reviewerId,
        action: 'change_request.failed',
        entityType: 'change_request',
        entityId: cr.id,
        reason: failed.failure,
      });
      await notifyOutcome(failed);
      throw new ApiError(409, 'CHANGE_NOT_APPLIED', `approved, but the matter refused it: ${err.message}`, {
        changeRequestId: cr.id,
      });
    }
  }

  async function pendingFor(id: string, reviewerId: string): Promise<ChangeRequestRow> {
    const cr = await getChangeRequest(sql, id);
    if (!cr) throw notFound('CHANGE_REQUEST_NOT_FOUND', `no change request ${id}`);
    if (cr.makerId === reviewerId)
      throw forbidden('the maker of a change cannot review it; a second person must');
    if (cr.status !== 'pending')
      throw conflict('CHANGE_NOT_PENDING', `change request is already ${cr.status}`);
    return cr;
  }

  return {
    /** `sourceVersion`: a source's versioned write, held on the request until it is decided. */
    async propose(
      body: ChangeRequestBody,
      makerId: string,
      sourceVersion?: NewChangeRequest['sourceVersion'],
    ): Promise<ChangeRequestRow> {
      const request = await proposal(body, makerId);
      return sql.begin(async (tx) => {
        const inserted = await insertChangeRequest(
          tx,
          sourceVersion ? { ...request, sourceVersion } : request,
        );
        if ('pendingId' in inserted) {
          throw new ApiError(
            409,
            'CHANGE_PENDING',
            'another change to this matter awaits review; decide it first',
            {
              changeRequestId: inserted.pendingId,
            },
          );
        }
        const cr = inserted.created;
        await audit(tx, {
          actorId: makerId,
          action: 'change_request.created',
          entityType: 'change_request',
          entityId: cr.id,
          after: { kind: cr.kind, matterId: cr.matterId, diff: cr.diff },
          reason: cr.reason,
        });
        return cr;
      });
    },

    async approve(id: string, reviewerId: string, comment: string | null): Promise<ChangeRequestRow> {
      await pendingFor(id, reviewerId);
      const decided = await sql.begin(async (tx) => {
        const cr = await decide(tx, id, { status: 'approved', reviewerId, comment });
        if (!cr) throw conflict('CHANGE_NOT_PENDING', 'change request was decided meanwhile');
        await audit(tx, {
          actorId: reviewerId,
          actingFor: null,
          action: 'change_request.approved',
          entityType: 'change_request',
          entityId: id,
          reason: comment,
        });
        return cr;
      });
      const applied = await apply(decided, reviewerId);
      await notifyOutcome(applied);
      return applied;
    },

    async reject(id: string, reviewerId: string, comment: string): Promise<ChangeRequestRow> {
      await pendingFor(id, reviewerId);
      const rejected = await sql.begin(async (tx) => {
        const cr = await decide(tx, id, { status: 'rejected', reviewerId, comment });
        if (!cr) throw conflict('CHANGE_NOT_PENDING', 'change request was decided meanwhile');
        await audit(tx, {
          actorId: reviewerId,
          action: 'change_request.rejected',
          entityType: 'change_request',
          entityId: id,
          reason: comment,
        });
        return cr;
      });
      await notifyOutcome(rejected);
      return rejected;
    },

    async get(id: string): Promise<ChangeRequestRow> {
      const cr = await getChangeRequest(sql, id);
      if (!cr) throw notFound('CHANGE_REQUEST_NOT_FOUND', `no change request ${id}`);
      return cr;
    },
  };
}

export type ChangeService = ReturnType<typeof changeService>;
