import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest, forbidden, notFound } from '../../api/errors.js';
import { mayRead } from '../../api/routes/matters.js';
import {
  AcknowledgeBody,
  CompleteBody,
  ExceptionBody,
  RejectTransferBody,
  TransferBody,
} from '../../api/schemas.js';
import { standsInFor } from '../../db/delegations.js';
import { type EventRow, type FilingRow, listEvents, listFilings } from '../../db/events.js';
import { findExceptionType, listExceptionTypes } from '../../db/exception-types.js';
import { isActiveMember } from '../../db/groups.js';
import { handlerNames, listActiveHandlers } from '../../db/handlers.js';
import type { MatterRow } from '../../db/matters.js';
import type { Flash } from '../../db/web-sessions.js';
import { fieldValues, formFields } from '../forms.js';
import type { WebDeps } from '../plugin.js';
import { flash, type WebUser } from '../session.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHECKERS = {
  complete: TypeCompiler.Compile(CompleteBody),
  transfer: TypeCompiler.Compile(TransferBody),
  rejectTransfer: TypeCompiler.Compile(RejectTransferBody),
  exception: TypeCompiler.Compile(ExceptionBody),
  acknowledge: TypeCompiler.Compile(AcknowledgeBody),
};

type Form = Record<string, unknown>;

/** A form's text input, trimmed; an empty one counts as not given. */
const given = (form: Form, name: string): string | undefined => {
  const v = form[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
};

/** Drops what was not given, so optional fields stay absent rather than empty. */
const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function checked<T>(checker: ReturnType<typeof TypeCompiler.Compile<TSchema>>, body: T): T {
  if (!checker.Check(body)) {
    const problems = [...checker.Errors(body)].map((e) => `${e.path.slice(1) || 'form'}: ${e.message}`);
    throw badRequest('VALIDATION_FAILED', problems.join('; '));
  }
  return body;
}

/** Who transferred it to the current handler, when handing it back is still possible. */
function transferToReject(row: MatterRow, events: EventRow[]): boolean {
  const moves = events.filter((e) =>
    [
      'matter.transferred',
      'transfer.rejected',
      'matter.claimed',
      'matter.released',
      'matter.assigned',
    ].includes(e.type),
  );
  const last = moves.at(-1);
  return last?.type === 'matter.transferred' && last.data.to === row.handlerId;
}

interface Capabilities {
  complete: boolean;
  transfer: boolean;
  rejectTransfer: boolean;
  exception: boolean;
  acknowledge: boolean;
  claim: boolean;
}

/** What the page offers; the workflow still decides, and says why when it refuses. */
async function capabilities(
  deps: WebDeps,
  user: WebUser,
  row: MatterRow,
  events: EventRow[],
): Promise<Capabilities> {
  const none = {
    complete: false,
    transfer: false,
    rejectTransfer: false,
    exception: false,
    acknowledge: false,
    claim: false,
  };
  if (user.role !== 'handler' || row.status !== 'open') return none;
  const holds =
    row.handlerId !== null &&
    (row.handlerId === user.subject || (await standsInFor(deps.sql, user.subject, row.handlerId)));
  const claim =
    row.handlerId === null &&
    row.groupId !== null &&
    (await isActiveMember(deps.sql, row.groupId, user.subject));
  return {
    complete: holds,
    transfer: holds,
    rejectTransfer: holds && transferToReject(row, events),
    exception: holds,
    acknowledge: holds,
    claim,
  };
}

function describe(e: EventRow, filing: FilingRow | undefined, names: Map<string, string>) {
  const d = e.data;
  const name = (v: unknown) => (typeof v === 'string' ? (names.get(v) ?? v) : '');
  const key = `event.${e.type}`;
  const said = [d.outcome, d.reason, d.comment, d.note, d.description].filter(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  const attachments = (filing?.attachments ?? []).flatMap((a) => {
    const { name: label, url } = a as { name?: unknown; url?: unknown };
    return typeof url === 'string' && /^https?:\/\//.test(url) ? [{ name: String(label ?? url), url }] : [];
  });
  return {
    seq: e.seq,
    key,
    params: { to: name(d.to), type: typeof d.eventType === 'string' ? d.eventType : e.type },
    actor: e.actorId ? name(e.actorId) : null,
    onBehalfOf: typeof d.onBehalfOf === 'string' ? name(d.onBehalfOf) : null,
    at: e.occurredAt,
    said,
    fields: filing ? Object.entries(filing.fields).map(([k, v]) => ({ name: k, value: String(v) })) : [],
    attachments,
  };
}

/** The matter page: its facts, its timeline, and the forms of what the viewer may do. */
export async function matterPageRoutes(app: FastifyInstance, deps: WebDeps) {
  const { sql, matters } = deps;

  async function readable(user: WebUser, id: string): Promise<MatterRow> {
    if (!UUID.test(id)) throw notFound('MATTER_NOT_FOUND', `no matter ${id}`);
    const row = await matters.load(id);
    if (!(await mayRead(sql, { subject: user.subject, role: user.role }, row))) {
      throw notFound('MATTER_NOT_FOUND', `no matter ${id}`);
    }
    return row;
  }

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    row: MatterRow,
    extra: { status?: number; problem?: string; form?: Form; action?: string; eventType?: string } = {},
  ) {
    const user = request.webUser!;
    const [events, filings] = await Promise.all([listEvents(sql, row.id), listFilings(sql, row.id)]);
    const can = await capabilities(deps, user, row, events);
    const actorIds = events.flatMap((e) =>
      [e.actorId, e.data.to, e.data.from, e.data.onBehalfOf].filter(
        (v): v is string => typeof v === 'string',
      ),
    );
    const names = await handlerNames(sql, [...actorIds, ...(row.handlerId ? [row.handlerId] : [])]);
    const bySeq = new Map(filings.map((f) => [f.seq, f]));
    const timeline = events.map((e) => describe(e, bySeq.get(e.seq), names));
    const handlers = can.transfer
      ? (await listActiveHandlers(sql)).filter((h) => h.id !== user.subject && h.id !== row.handlerId)
      : [];
    const types = can.exception ? (await listExceptionTypes(sql)).filter((t) => t.active) : [];
    const chosen =
      can.exception && extra.eventType ? types.find((t) => t.code === extra.eventType) : undefined;
    return reply.page(
      'matter',
      {
        nav: 'inbox',
        matter: row,
        handlerName: row.handlerId ? (names.get(row.handlerId) ?? row.handlerId) : null,
        link: row.link && /^https?:\/\//.test(row.link) ? row.link : null,
        timeline,
        can,
        anyAction: Object.values(can).some(Boolean),
        handlers,
        types: types.map((t) => ({ code: t.code, names: t.names })),
        chosen: chosen
          ? { code: chosen.code, names: chosen.names, fields: formFields(chosen.fieldsSchema) }
          : null,
        problem: extra.problem ?? null,
        problemAction: extra.action ?? null,
        form: extra.form ?? {},
      },
      {
        status: extra.status,
        path: `/matters/${row.id}${chosen ? `?eventType=${encodeURIComponent(chosen.code)}` : ''}`,
      },
    );
  }

  app.get<{ Params: { id: string }; Querystring: { eventType?: string } }>(
    '/matters/:id',
    { schema: { tags: ['web'], summary: 'A matter: details, timeline and the viewer’s actions' } },
    async (request, reply) => {
      const row = await readable(request.webUser!, request.params.id);
      const eventType = typeof request.query.eventType === 'string' ? request.query.eventType : undefined;
      return render(request, reply, row, { eventType });
    },
  );

  /**
   * One action form: the viewer must see the matter, be a handler, and send a valid form. A refusal shows
   * the page again with the reason and what they typed; success redirects with a message.
   */
  function action(
    path: string,
    summary: string,
    run: (row: MatterRow, form: Form, user: WebUser) => Promise<{ flash: Flash; to?: string }>,
  ) {
    app.post<{ Params: { id: string } }>(
      `/matters/:id/${path}`,
      { schema: { tags: ['web'], summary }, preHandler: app.csrfProtection },
      async (request, reply) => {
        const user = request.webUser!;
        const row = await readable(user, request.params.id);
        const form = (request.body ?? {}) as Form;
        try {
          if (user.role !== 'handler') throw forbidden('only handlers act on matters');
          const done = await run(row, form, user);
          await flash(sql, request, done.flash);
          return reply.redirect(done.to ?? `/matters/${row.id}`, 303);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          const fresh = await matters.load(row.id);
          const eventType = path === 'exceptions' ? given(form, 'eventType') : undefined;
          return render(request, reply, fresh, {
            status: err.statusCode,
            problem: err.message,
            form,
            action: path,
            eventType,
          });
        }
      },
    );
  }

  const acting = async (row: MatterRow, user: WebUser) => matters.actorOn(user.subject, row);

  action('complete', 'Complete the matter from its page', async (row, form, user) => {
    const body = checked(
      CHECKERS.complete,
      defined({ outcome: given(form, 'outcome'), comment: given(form, 'comment') }),
    );
    await matters.complete(row.id, { ...(await acting(row, user)), ...body });
    return { flash: { kind: 'ok', key: 'flash.completed' }, to: '/inbox' };
  });

  action('transfer', 'Transfer the matter from its page', async (row, form, user) => {
    const body = checked(CHECKERS.transfer, {
      toHandlerId: given(form, 'toHandlerId') ?? '',
      reason: given(form, 'reason') ?? '',
    });
    await matters.transfer(row.id, { ...(await acting(row, user)), ...body });
    const names = await handlerNames(sql, [body.toHandlerId]);
    return {
      flash: {
        kind: 'ok',
        key: 'flash.transferred',
        params: { name: names.get(body.toHandlerId) ?? body.toHandlerId },
      },
      to: '/inbox',
    };
  });

  action('reject-transfer', 'Hand a transferred matter back from its page', async (row, form, user) => {
    const body = checked(CHECKERS.rejectTransfer, { reason: given(form, 'reason') ?? '' });
    await matters.rejectTransfer(row.id, { ...(await acting(row, user)), ...body });
    return { flash: { kind: 'ok', key: 'flash.rejected' }, to: '/inbox' };
  });

  action('exceptions', 'File an exception from the matter page', async (row, form, user) => {
    const eventType = given(form, 'eventType') ?? '';
    const type = eventType ? await findExceptionType(sql, eventType) : null;
    const body = checked(
      CHECKERS.exception,
      defined({
        eventType,
        description: given(form, 'description') ?? '',
        fields: type ? fieldValues(type.fieldsSchema, form) : undefined,
      }),
    );
    await matters.fileException(row.id, { ...(await acting(row, user)), ...body });
    return { flash: { kind: 'ok', key: 'flash.exception' } };
  });

  action('acknowledge', 'Acknowledge the matter from its page', async (row, form, user) => {
    const body = checked(CHECKERS.acknowledge, defined({ note: given(form, 'note') }));
    await matters.acknowledge(row.id, { ...(await acting(row, user)), ...body });
    return { flash: { kind: 'ok', key: 'flash.acknowledged' } };
  });

  action('claim', 'Claim a group’s matter from its page', async (row, _form, user) => {
    if (row.groupId && !(await isActiveMember(sql, row.groupId, user.subject))) {
      throw forbidden(`only members of group ${row.groupId} may claim this matter`);
    }
    await matters.claim(row.id, { actorId: user.subject });
    return { flash: { kind: 'ok', key: 'flash.claimed' } };
  });
}
