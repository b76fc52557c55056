import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Client } from '@temporalio/client';
import type { Principal } from '../../db/api-tokens.js';
import type { Sql } from '../../db/client.js';
import {
  type FilingRecord,
  getFiling,
  isSubscriber,
  listFilingRecords,
  recordFilingStepDirectly,
} from '../../db/exception-filings.js';
import { getMatter } from '../../db/matters.js';
import type { FilingAction } from '../../domain/actions.js';
import { ActionRefusal } from '../../domain/errors.js';
import { FILING_STATUSES, ON_FILING } from '../../domain/exception-type.js';
import { filingUpdate } from '../../workflows/messages.js';
import { principalOf, requireRole } from '../auth.js';
import { ApiError, conflict, forbidden, notFound } from '../errors.js';
import { iso } from '../presenters.js';
import { Attachment, CatalogCode, DateTime, ErrorResponse, literals, Nullable, Text } from '../schemas.js';
import { toApiError } from '../temporal-errors.js';

const FilingView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  matterId: Type.String({ format: 'uuid' }),
  seq: Type.Integer({ description: 'the seq of its `exception.filed` event on the matter' }),
  eventType: Type.String(),
  typeVersion: Nullable(Type.Integer()),
  severity: Nullable(Type.String()),
  onFiling: literals(ON_FILING),
  description: Type.String(),
  fields: Type.Record(Type.String(), Type.Unknown()),
  attachments: Type.Array(Attachment),
  filedBy: Type.String(),
  filedAt: DateTime,
  status: literals(FILING_STATUSES),
  acknowledgedBy: Nullable(Type.String()),
  acknowledgedAt: Nullable(DateTime),
  acknowledgedNote: Nullable(Type.String()),
  closedBy: Nullable(Type.String()),
  closedAt: Nullable(DateTime),
  closedNote: Nullable(Type.String()),
});

const FilingQuery = Type.Object(
  {
    status: Type.Optional(literals(FILING_STATUSES)),
    type: Type.Optional(CatalogCode),
    matterId: Type.Optional(Type.String({ format: 'uuid' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  },
  { additionalProperties: false },
);
const FilingParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const AcknowledgeBody = Type.Object({ note: Type.Optional(Text(4000)) }, { additionalProperties: false });
const CloseBody = Type.Object({ note: Text(4000, 'how it was settled') }, { additionalProperties: false });

const present = (f: FilingRecord) => ({
  ...f,
  filedAt: f.filedAt.toISOString(),
  acknowledgedAt: iso(f.acknowledgedAt),
  closedAt: iso(f.closedAt),
});

const secured = [{ bearer: [] }];
const STAFF = new Set(['admin', 'manager', 'reviewer', 'auditor']);

/**
 * The exception board: filings by status, type and matter, and their subscribers acknowledging and closing
 * them. A step on an open matter goes through its workflow, the one writer of its event log; on an ended
 * matter no workflow writes any more, so the step is recorded directly with the next seq.
 */
export const exceptionFilingRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  temporal: Client;
  actionTimeoutMs: number;
}> = async (app, { sql, temporal, actionTimeoutMs }) => {
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

  async function take(p: Principal, id: string, step: FilingAction['step'], note: string | undefined) {
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
        return present(await load(id));
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
    return present(await load(id));
  }

  app.get(
    '/v1/exception-filings',
    {
      preHandler: requireRole('admin', 'manager', 'reviewer', 'auditor', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary: 'The exception board: open filings first, then acknowledged, then closed; newest first',
        security: secured,
        querystring: FilingQuery,
        response: { 200: Type.Object({ items: Type.Array(FilingView) }), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { limit, ...filter } = request.query;
      const subscriber = p.role === 'handler' ? { subscriber: p.subject } : {};
      const rows = await listFilingRecords(sql, { ...filter, ...subscriber }, limit);
      return { items: rows.map(present) };
    },
  );

  app.get(
    '/v1/exception-filings/:id',
    {
      preHandler: requireRole('admin', 'manager', 'reviewer', 'auditor', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary: 'An exception filing with who acknowledged and closed it',
        security: secured,
        params: FilingParams,
        response: { 200: FilingView, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const filing = await load(request.params.id);
      if (!(await mayRead(principalOf(request), filing))) {
        throw notFound('FILING_NOT_FOUND', `no exception filing ${request.params.id}`);
      }
      return present(filing);
    },
  );

  app.post(
    '/v1/exception-filings/:id/acknowledge',
    {
      preHandler: requireRole('admin', 'manager', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary: 'Take up a filing (a subscriber of its type, or a manager)',
        security: secured,
        params: FilingParams,
        body: AcknowledgeBody,
        response: { 200: FilingView, '4xx': ErrorResponse },
      },
    },
    async (request) => take(principalOf(request), request.params.id, 'acknowledged', request.body.note),
  );

  app.post(
    '/v1/exception-filings/:id/close',
    {
      preHandler: requireRole('admin', 'manager', 'handler'),
      schema: {
        tags: ['exceptions'],
        summary:
          'Settle a filing with a note (a subscriber of its type, or a manager); reminders it paused resume',
        security: secured,
        params: FilingParams,
        body: CloseBody,
        response: { 200: FilingView, '4xx': ErrorResponse },
      },
    },
    async (request) => take(principalOf(request), request.params.id, 'closed', request.body.note),
  );
};
