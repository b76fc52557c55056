import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { previewChange } from '../../api/rule-preview.js';
import { type ChangeRequestRow, listChangeRequests } from '../../db/change-requests.js';
import { diffRows } from '../console-diff.js';
import type { FieldErrors } from '../console-matter-form.js';
import { checkUuid, may, REVIEWERS, refusalErrors, refused, web } from '../console-pages.js';
import type { WebDeps } from '../plugin.js';
import { flash } from '../session.js';

/** The queue shows this many; a longer one is a staffing problem, not a paging one. */
const QUEUE_LIMIT = 200;

/** What a reviewer reads a request by: the matter's title as proposed, else as it stands. */
const titleOf = (cr: ChangeRequestRow) =>
  String(cr.proposed.title ?? cr.current?.title ?? `${cr.source}/${cr.externalId}`);

/** The review queue, one request with its diff and planned reminders, and the decision. */
export async function consoleReviewRoutes(app: FastifyInstance, { sql, changes }: WebDeps) {
  app.get('/console/reviews', { schema: web('Change requests awaiting review') }, async (request, reply) => {
    const me = request.webUser!.subject;
    const pending = await listChangeRequests(sql, { status: 'pending' }, QUEUE_LIMIT);
    // Oldest first, as a queue is worked; the viewer's own last, since someone else must take them.
    const rows = pending
      .reverse()
      .map((cr) => ({
        id: cr.id,
        kind: cr.kind,
        title: titleOf(cr),
        source: cr.source,
        externalId: cr.externalId,
        makerId: cr.makerId,
        createdAt: cr.createdAt,
        mine: cr.makerId === me,
      }))
      .sort((a, b) => Number(a.mine) - Number(b.mine));
    return reply.page('console-reviews', { nav: 'console', rows, truncated: pending.length === QUEUE_LIMIT });
  });

  async function showRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    extra: { errors?: FieldErrors; comment?: string; status?: number } = {},
  ) {
    const cr = await changes.get(checkUuid(id, 'change request'));
    let preview = null;
    let previewProblem: string | null = null;
    try {
      preview = await previewChange(sql, cr);
    } catch (err) {
      // A rule whose calendar went out of use still deserves a review; say why there is no schedule.
      previewProblem =
        refusalErrors(err, () => 'form')
          .errors.form?.map((e) => ('text' in e ? e.text : e.key))
          .join(' ') ?? null;
    }
    return reply.page(
      'console-review',
      {
        nav: 'console',
        cr: { ...cr, title: titleOf(cr) },
        rows: diffRows(cr.diff),
        preview,
        previewProblem,
        mine: cr.makerId === request.webUser!.subject,
        mayDecide: may(request, REVIEWERS) && cr.status === 'pending',
        errors: extra.errors ?? {},
        comment: extra.comment ?? '',
      },
      { status: extra.status ?? 200, path: `/console/reviews/${cr.id}` },
    );
  }

  app.get<{ Params: { id: string } }>(
    '/console/reviews/:id',
    { schema: web('A change request: its diff, planned reminders and the decision forms') },
    async (request, reply) => showRequest(request, reply, request.params.id),
  );

  const commentOf = (body: unknown) => {
    const c = (body as { comment?: unknown } | undefined)?.comment;
    return typeof c === 'string' ? c.trim() : '';
  };

  /** After a decision the reviewer goes back to the queue; a refusal stays on the request with its reason. */
  async function decide(
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    run: (id: string, reviewer: string, comment: string) => Promise<ChangeRequestRow>,
    done: string,
  ) {
    if (!may(request, REVIEWERS)) return refused(reply);
    const id = checkUuid(request.params.id, 'change request');
    const comment = commentOf(request.body);
    try {
      const cr = await run(id, request.webUser!.subject, comment);
      await flash(sql, request, { kind: 'ok', key: done, params: { title: titleOf(cr) } });
      return reply.redirect('/console/reviews', 303);
    } catch (err) {
      const refusal = refusalErrors(err, () => 'decision');
      return showRequest(request, reply, id, { ...refusal, comment });
    }
  }

  app.post<{ Params: { id: string } }>(
    '/console/reviews/:id/approve',
    { schema: web('Approve a change request and apply it; never its maker'), preHandler: app.csrfProtection },
    async (request, reply) =>
      decide(
        request,
        reply,
        (id, reviewer, comment) => changes.approve(id, reviewer, comment || null),
        'console.approved',
      ),
  );

  app.post<{ Params: { id: string } }>(
    '/console/reviews/:id/reject',
    {
      schema: web('Reject a change request with a comment; the matter stays as it was'),
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      if (may(request, REVIEWERS) && !commentOf(request.body)) {
        return showRequest(request, reply, request.params.id, {
          errors: { comment: [{ key: 'console.error.rejectComment' }] },
          status: 400,
        });
      }
      return decide(
        request,
        reply,
        (id, reviewer, comment) => changes.reject(id, reviewer, comment),
        'console.rejected',
      );
    },
  );
}
