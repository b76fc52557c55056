import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { audit } from '../../db/audit.js';
import type { Sql } from '../../db/client.js';
import { addTemplateVersion, listTemplates, type RuleTemplate } from '../../db/rule-templates.js';
import { principalOf, requireRole } from '../auth.js';
import { notFound } from '../errors.js';
import type { MatterService } from '../matter-service.js';
import { ErrorResponse, RuleTemplateInput, RuleTemplateView } from '../schemas.js';

const present = (t: RuleTemplate) => ({ ...t, createdAt: t.createdAt.toISOString() });
const secured = [{ bearer: [] }];
const Versions = Type.Object({ items: Type.Array(RuleTemplateView) });

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
      matters.checkRule(rule);
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
