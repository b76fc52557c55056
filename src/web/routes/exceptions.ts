import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest, forbidden, notFound } from '../../api/errors.js';
import { listFilingRecords } from '../../db/exception-filings.js';
import { listExceptionTypes } from '../../db/exception-types.js';
import { handlerNames } from '../../db/handlers.js';
import { mattersByIds } from '../../db/matters.js';
import { FILING_STATUSES } from '../../domain/exception-type.js';
import type { WebDeps } from '../plugin.js';
import { flash } from '../session.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BOARD_LIMIT = 200;
const NOTE_MAX = 4000;
/** The roles the API lets take a step on a filing; a handler must also follow its type. */
const STEP_ROLES = new Set(['admin', 'manager', 'handler']);

interface BoardQuery {
  type?: string;
  status?: string;
}

/** The exception board: filings, not-yet-acknowledged first, and the steps their subscribers take. */
export async function exceptionBoardRoutes(app: FastifyInstance, { sql, filings }: WebDeps) {
  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    query: BoardQuery,
    extra: { status?: number; problem?: string; problemFiling?: string } = {},
  ) {
    const user = request.webUser!;
    const principal = { subject: user.subject, role: user.role };
    const types = await listExceptionTypes(sql);
    const filter = {
      type: types.find((t) => t.code === query.type)?.code,
      status: FILING_STATUSES.find((s) => s === query.status),
    };
    const rows = await listFilingRecords(
      sql,
      { ...filter, ...(user.role === 'handler' ? { subscriber: user.subject } : {}) },
      BOARD_LIMIT,
    );
    const [matters, names] = await Promise.all([
      mattersByIds(sql, [...new Set(rows.map((r) => r.matterId))]),
      handlerNames(
        sql,
        rows.flatMap((r) => [r.filedBy, r.acknowledgedBy, r.closedBy].filter((v): v is string => v !== null)),
      ),
    ]);
    const titles = new Map(matters.map((m) => [m.id, m.title]));
    const items = await Promise.all(
      rows.map(async (f) => ({
        ...f,
        matterTitle: titles.get(f.matterId) ?? f.matterId,
        filedByName: names.get(f.filedBy) ?? f.filedBy,
        acknowledgedByName: f.acknowledgedBy ? (names.get(f.acknowledgedBy) ?? f.acknowledgedBy) : null,
        closedByName: f.closedBy ? (names.get(f.closedBy) ?? f.closedBy) : null,
        typeNames: types.find((t) => t.code === f.eventType)?.names ?? null,
        mayAct: f.status !== 'closed' && (await filings.mayAct(principal, f)),
        attachments: f.attachments.filter((a) => /^https?:\/\//.test(a.url)),
      })),
    );
    return reply.page(
      'exceptions',
      {
        nav: 'exceptions',
        items,
        types: types.map((t) => ({ code: t.code, names: t.names })),
        statuses: FILING_STATUSES,
        filter,
        problem: extra.problem ?? null,
        problemFiling: extra.problemFiling ?? null,
      },
      { status: extra.status, path: '/exceptions' },
    );
  }

  app.get<{ Querystring: BoardQuery }>(
    '/exceptions',
    { schema: { tags: ['web'], summary: 'The exception board' } },
    async (request, reply) => render(request, reply, request.query),
  );

  function step(path: 'acknowledge' | 'close', summary: string) {
    app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
      `/exceptions/:id/${path}`,
      { schema: { tags: ['web'], summary }, preHandler: app.csrfProtection },
      async (request, reply) => {
        const user = request.webUser!;
        const id = request.params.id;
        if (!UUID.test(id)) throw notFound('FILING_NOT_FOUND', `no exception filing ${id}`);
        const raw = request.body?.note;
        const note = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
        try {
          if (!STEP_ROLES.has(user.role)) {
            throw forbidden('only managers and subscribers of its type may act on a filing');
          }
          if (note && note.length > NOTE_MAX)
            throw badRequest('VALIDATION_FAILED', `a note has at most ${NOTE_MAX} characters`);
          if (path === 'close' && !note) throw badRequest('VALIDATION_FAILED', 'say how it was settled');
          const principal = { subject: user.subject, role: user.role };
          await filings.take(principal, id, path === 'close' ? 'closed' : 'acknowledged', note);
          await flash(sql, request, {
            kind: 'ok',
            key: path === 'close' ? 'flash.filingClosed' : 'flash.filingAcknowledged',
          });
          return reply.redirect('/exceptions', 303);
        } catch (err) {
          if (!(err instanceof ApiError) || err.statusCode === 404) throw err;
          return render(
            request,
            reply,
            {},
            { status: err.statusCode, problem: err.message, problemFiling: id },
          );
        }
      },
    );
  }
  step('acknowledge', 'Acknowledge an exception filing from the board');
  step('close', 'Close an exception filing with a note from the board');
}
