import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { audit } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import { addTemplateVersion, listTemplates, type RuleTemplate } from '../../db/rule-templates.js';
import { CalendarError, checkQuietHours } from '../../domain/calendar.js';
import { principalOf, requireRole } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import type { MatterService } from '../matter-service.js';
import { previewRule } from '../rule-preview.js';
import { ErrorResponse, PreviewInput, PreviewView, RuleTemplateInput, RuleTemplateView } from '../schemas.js';

const present = (t: RuleTemplate) => ({ ...t, createdAt: t.createdAt.toISOString() });
const secured = [{ bearer: [] }];
const Versions = Type.Object({ items: Type.Array(RuleTemplateView) });

/** The schedule a rule (inline or a template) would send; the API and the console both call this. */
export async function previewReminders(sql: Sql, matters: MatterService, body: PreviewInput) {
  if ((body.rule === undefined) === (body.reminderRuleRef === undefined)) {
    throw badRequest('RULE_REQUIRED', 'give exactly one of rule and reminderRuleRef', [
      { field: 'body.rule' },
    ]);
  }
  const reminderRule =
    body.rule ?? (await matters.resolveRule({ reminderRuleRef: body.reminderRuleRef })).reminderRule;
  if (body.quietHours) {
    try {
      checkQuietHours(body.quietHours);
    } catch (err) {
      if (err instanceof CalendarError) {
        throw badRequest('INVALID_QUIET_HOURS', err.message, [{ field: 'body.quietHours' }]);
      }
      throw err;
    }
  }
  return previewRule(sql, {
    schedule: (await matters.checkRule(reminderRule, 'body.rule')).schedule,
    assignedAt: body.assignedAt ? new Date(body.assignedAt) : new Date(),
    dueAt: body.dueAt ? new Date(body.dueAt) : null,
    ...(body.quietHours !== undefined ? { quiet: body.quietHours } : {}),
    handlerId: body.handlerId ?? null,
    count: body.count,
  });
}

/** The catalog of reminder rules: each save is a new version; matters keep the version they were given. */
export const reminderRuleRoutes: FastifyPluginAsyncTypebox<{ sql: Sql; matters: MatterService }> = async (
  app,
  { sql, matters },
) => {
  app.post(
    '/v1/reminder-rules',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['catalogs'],
        summary: 'Save a reminder rule template as its next version',
        security: secured,
        body: RuleTemplateInput,
        response: { 201: RuleTemplateView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const { code, rule, description } = request.body;
      await matters.checkRule(rule, 'body.rule');
      const saved = await sql.begin(async (tx) => {
        const t = present(
          await addTemplateVersion(tx, {
            code,
            rule,
            description: description ?? null,
            createdBy: actor.subject,
          }),
        );
        await audit(tx, {
          actorId: actor.subject,
          action: 'rule_template.saved',
          entityType: 'rule_template',
          entityId: `${code}@${t.version}`,
          after: t,
        });
        return t;
      });
      return reply.code(201).send(saved);
    },
  );

  app.post(
    '/v1/reminder-rules/preview',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['catalogs'],
        summary:
          'The first notices a rule would send for a due time, calendar and quiet hours; changes nothing',
        security: secured,
        body: PreviewInput,
        response: { 200: PreviewView, '4xx': ErrorResponse },
      },
    },
    async (request) => previewReminders(sql, matters, request.body),
  );

  app.get(
    '/v1/reminder-rules',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['catalogs'],
        summary: 'The latest version of every reminder rule template',
        security: secured,
        response: { 200: Versions, '4xx': ErrorResponse },
      },
    },
    async () => ({ items: (await listTemplates(sql)).map(present) }),
  );

  app.get(
    '/v1/reminder-rules/:code',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['catalogs'],
        summary: 'Every version of one template, newest first',
        security: secured,
        params: Type.Object({ code: Type.String({ maxLength: 64 }) }),
        response: { 200: Versions, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const items = await listTemplates(sql, request.params.code);
      if (items.length === 0)
        throw notFound('RULE_TEMPLATE_NOT_FOUND', `no reminder rule template ${request.params.code}`);
      return { items: items.map(present) };
    },
  );
};
