import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { definitionOf } from '../../api/change-service.js';
import { previewReminders } from '../../api/routes/reminder-rules.js';
import { MatterChanges, MatterInputBody, type PreviewInput } from '../../api/schemas.js';
import { listChangeRequests } from '../../db/change-requests.js';
import { listGroups } from '../../db/groups.js';
import type { MatterRow } from '../../db/matters.js';
import { listTemplates, type RuleTemplate } from '../../db/rule-templates.js';
import { PRIORITIES } from '../../domain/matter.js';
import type { ReminderRule } from '../../domain/reminder-rule.js';
import {
  addError,
  dueInputOf,
  type FieldErrors,
  formFieldOf,
  type MatterForm,
  matterChanges,
  mergeErrors,
  newMatterInput,
  readMatterForm,
} from '../console-matter-form.js';
import { checkUuid, hasErrors, MAKERS, may, refusalErrors, refused, web } from '../console-pages.js';
import { listDirectoryHandlers } from '../console-queries.js';
import { formChecker } from '../console-validate.js';
import type { WebDeps } from '../plugin.js';
import { flash } from '../session.js';

/** How many planned notices the preview lists: enough to see the rhythm and the first escalation. */
const PREVIEW_COUNT = 10;
const ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'UTC'];

const checkNew = formChecker(MatterInputBody, formFieldOf);
const checkChanges = formChecker(MatterChanges, formFieldOf);

type Preview = Awaited<ReturnType<typeof previewReminders>>;
type Body = Record<string, unknown>;

/** Creating and changing matters, each as a change request a second person reviews. */
export async function consoleMatterRoutes(app: FastifyInstance, { sql, matters, changes }: WebDeps) {
  app.addHook('preHandler', async (request, reply) => {
    if (!may(request, MAKERS)) return refused(reply);
  });

  /** What the form's selects offer: the active directory, the latest templates, the usual zones. */
  async function choices(request: FastifyRequest, form: MatterForm) {
    const [handlers, groups, templates] = await Promise.all([
      listDirectoryHandlers(sql),
      listGroups(sql),
      listTemplates(sql),
    ]);
    const zones = new Set([request.webUser!.timeZone, ...ZONES, ...handlers.map((h) => h.timezone)]);
    if (form.timeZone) zones.add(form.timeZone);
    return {
      handlers: handlers.filter((h) => h.active || h.id === form.handlerId),
      groups: groups.filter((g) => g.active || g.id === form.groupId),
      templates,
      zones: [...zones].sort(),
      priorities: PRIORITIES,
    };
  }

  /** The planned notices for the form's rule (or the priority's default), due time and handler. */
  async function preview(
    rule: Pick<PreviewInput, 'rule' | 'reminderRuleRef'>,
    dueAt: string | null | undefined,
    handlerId: string | undefined,
    priority: string | undefined,
    errors: FieldErrors,
  ): Promise<Preview | null> {
    try {
      const given =
        rule.rule || rule.reminderRuleRef
          ? rule
          : { rule: (await matters.resolveRule({ priority: priority as never })).reminderRule };
      return await previewReminders(sql, matters, {
        ...given,
        ...(dueAt ? { dueAt } : {}),
        ...(handlerId ? { handlerId } : {}),
        count: PREVIEW_COUNT,
      });
    } catch (err) {
      // The preview names the rule `body.rule`; on the form it is the template or the JSON.
      const refusal = refusalErrors(err, (path) =>
        path.startsWith('body.rule') ? 'ruleJson' : formFieldOf(path),
      );
      Object.assign(errors, mergeErrors(errors, refusal.errors));
      return null;
    }
  }

  const showNew = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: MatterForm,
    extra: { errors?: FieldErrors; preview?: Preview | null; status?: number } = {},
  ) =>
    reply.page(
      'console-matter',
      {
        nav: 'console',
        mode: 'new',
        action: '/console/matters/new',
        form,
        errors: extra.errors ?? {},
        preview: extra.preview ?? null,
        matter: null,
        ...(await choices(request, form)),
      },
      {
        status: extra.status ?? (extra.errors && hasErrors(extra.errors) ? 400 : 200),
        path: '/console/matters/new',
      },
    );

  app.get(
    '/console/matters/new',
    { schema: web('Form: propose a new matter for review') },
    async (request, reply) =>
      showNew(request, reply, {
        ...readMatterForm({}),
        priority: 'normal',
        timeZone: request.webUser!.timeZone,
      }),
  );

  app.post<{ Body: Body }>(
    '/console/matters/new',
    {
      schema: web('Preview the reminders of, or propose, a new matter; nothing starts until it is approved'),
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const form = readMatterForm(request.body);
      const read = newMatterInput(form);
      const errors = mergeErrors(read.errors, checkNew(read.input));
      if (hasErrors(errors)) return showNew(request, reply, form, { errors });
      const input = read.input;
      if (request.body.intent === 'preview') {
        const planned = await preview(
          { rule: input.reminderRule, reminderRuleRef: input.reminderRuleRef },
          input.dueAt,
          input.handlerId,
          input.priority,
          errors,
        );
        return showNew(request, reply, form, { errors, preview: planned });
      }
      try {
        const cr = await changes.propose(
          { kind: 'add', matter: input, reason: form.reason || 'a manager’s new matter' },
          request.webUser!.subject,
        );
        await flash(sql, request, { kind: 'ok', key: 'console.submitted', params: { id: cr.id } });
        return reply.redirect(`/console/reviews/${cr.id}`, 303);
      } catch (err) {
        const refusal = refusalErrors(err, formFieldOf);
        return showNew(request, reply, form, refusal);
      }
    },
  );

  /** The edit form as the matter stands, times in the reader's zone. */
  function formOf(row: MatterRow, timeZone: string): MatterForm {
    const d = definitionOf(row);
    return {
      ...readMatterForm({}),
      source: row.source,
      externalId: row.externalId,
      title: d.title,
      details: d.details ?? '',
      link: d.link ?? '',
      due: dueInputOf(d.dueAt, timeZone),
      timeZone,
      priority: d.priority,
      handlerId: d.handlerId ?? '',
      groupId: row.groupId ?? '',
      ruleJson: d.reminderRule ? JSON.stringify(d.reminderRule, null, 2) : '',
    };
  }

  const showEdit = async (
    request: FastifyRequest,
    reply: FastifyReply,
    row: MatterRow,
    form: MatterForm,
    extra: { errors?: FieldErrors; preview?: Preview | null; status?: number; cancelReason?: string } = {},
  ) =>
    reply.page(
      'console-matter',
      {
        nav: 'console',
        mode: 'edit',
        action: `/console/matters/${row.id}/edit`,
        form,
        errors: extra.errors ?? {},
        preview: extra.preview ?? null,
        matter: {
          id: row.id,
          status: row.status,
          source: row.source,
          externalId: row.externalId,
          groupId: row.groupId,
        },
        // One request per matter at a time: say which one waits, before anyone fills in the form.
        pendingId: (await listChangeRequests(sql, { matterId: row.id, status: 'pending' }, 1))[0]?.id ?? null,
        cancelReason: extra.cancelReason ?? '',
        ...(await choices(request, form)),
      },
      {
        status: extra.status ?? (extra.errors && hasErrors(extra.errors) ? 400 : 200),
        path: `/console/matters/${row.id}/edit`,
      },
    );

  const templateRule = (templates: RuleTemplate[]) => (code: string, version: number) =>
    templates.find((t) => t.code === code && t.version === version)?.rule as ReminderRule | undefined;

  app.get<{ Params: { id: string } }>(
    '/console/matters/:id/edit',
    { schema: web('Form: propose changes to a matter, or its cancellation, for review') },
    async (request, reply) => {
      const row = await matters.load(checkUuid(request.params.id, 'matter'));
      return showEdit(request, reply, row, formOf(row, request.webUser!.timeZone));
    },
  );

  app.post<{ Params: { id: string }; Body: Body }>(
    '/console/matters/:id/edit',
    {
      schema: web('Preview the reminders of, or propose, changes to a matter'),
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const row = await matters.load(checkUuid(request.params.id, 'matter'));
      // What cannot change is shown from the matter, whatever was posted.
      const form = {
        ...readMatterForm(request.body),
        source: row.source,
        externalId: row.externalId,
        groupId: row.groupId ?? '',
      };
      const read = matterChanges(form, templateRule(await listTemplates(sql)));
      const errors = mergeErrors(read.errors, checkChanges(read.changes));
      if (!form.reason && request.body.intent !== 'preview')
        addError(errors, 'reason', { key: 'console.error.required' });
      if (hasErrors(errors)) return showEdit(request, reply, row, form, { errors });
      const proposed = read.changes;
      if (request.body.intent === 'preview') {
        const planned = await preview(
          { rule: proposed.reminderRule ?? (row.reminderRule as ReminderRule) },
          proposed.dueAt,
          proposed.handlerId ?? row.handlerId ?? undefined,
          proposed.priority,
          errors,
        );
        return showEdit(request, reply, row, form, { errors, preview: planned });
      }
      try {
        const cr = await changes.propose(
          { kind: 'modify', matterId: row.id, changes: proposed, reason: form.reason },
          request.webUser!.subject,
        );
        await flash(sql, request, { kind: 'ok', key: 'console.submitted', params: { id: cr.id } });
        return reply.redirect(`/console/reviews/${cr.id}`, 303);
      } catch (err) {
        return showEdit(request, reply, row, form, refusalErrors(err, formFieldOf));
      }
    },
  );

  app.post<{ Params: { id: string }; Body: Body }>(
    '/console/matters/:id/cancel',
    {
      schema: web('Propose cancelling a matter; it stays open until the request is approved'),
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const row = await matters.load(checkUuid(request.params.id, 'matter'));
      const reason = typeof request.body.cancelReason === 'string' ? request.body.cancelReason.trim() : '';
      const form = formOf(row, request.webUser!.timeZone);
      if (!reason) {
        return showEdit(request, reply, row, form, {
          errors: { cancelReason: [{ key: 'console.error.required' }] },
        });
      }
      try {
        const cr = await changes.propose(
          { kind: 'delete', matterId: row.id, reason },
          request.webUser!.subject,
        );
        await flash(sql, request, { kind: 'ok', key: 'console.submitted', params: { id: cr.id } });
        return reply.redirect(`/console/reviews/${cr.id}`, 303);
      } catch (err) {
        const refusal = refusalErrors(err, () => 'cancelReason');
        return showEdit(request, reply, row, form, { ...refusal, cancelReason: reason });
      }
    },
  );
}
