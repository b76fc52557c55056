import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHandler } from '../../api/routes/handlers.js';
import { HandlerInput } from '../../api/schemas.js';
import { availableChannelTypes } from '../../channels/settings.js';
import { listExceptionTypes } from '../../db/exception-types.js';
import { listGroups } from '../../db/groups.js';
import { listTemplates } from '../../db/rule-templates.js';
import { listSourceSystems } from '../../db/source-systems.js';
import { outboundPolicy } from '../../security/outbound-address.js';
import { addError, type FieldErrors } from '../console-matter-form.js';
import { hasErrors, MAKERS, may, refusalErrors, refused, web } from '../console-pages.js';
import { listDirectoryHandlers } from '../console-queries.js';
import { formChecker } from '../console-validate.js';
import type { WebDeps } from '../plugin.js';
import { flash } from '../session.js';

const HANDLER_FIELDS = [
  'id',
  'name',
  'supervisorId',
  'timezone',
  'locale',
  'channelType',
  'channelAddress',
] as const;
type HandlerForm = Record<(typeof HANDLER_FIELDS)[number], string>;

/** `channels.0.address` and the like belong to the one channel the form adds. */
const handlerFieldOf = (path: string) => {
  const head = path.replace(/^body\./, '').split('.')[0] ?? '';
  if (head === 'channels') return path.endsWith('type') ? 'channelType' : 'channelAddress';
  return (HANDLER_FIELDS as readonly string[]).includes(head) ? head : 'form';
};
const checkHandler = formChecker(HandlerInput, handlerFieldOf);

/** The body `POST /v1/handlers` takes: one channel when an address is given, the rest left to defaults. */
function handlerInput(f: HandlerForm) {
  return {
    id: f.id,
    name: f.name,
    channels: f.channelAddress ? [{ type: f.channelType, address: f.channelAddress }] : [],
    ...(f.supervisorId ? { supervisorId: f.supervisorId } : {}),
    ...(f.timezone ? { timezone: f.timezone } : {}),
    ...(f.locale ? { locale: f.locale } : {}),
  };
}

/** The directory (handlers, groups, adding a handler) and the read-only catalogs. */
export async function consoleCatalogRoutes(app: FastifyInstance, { sql, config }: WebDeps) {
  const channelTypes = availableChannelTypes(config.channels);
  const outbound = outboundPolicy(config.outboundAllowHosts);

  async function showDirectory(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { form?: HandlerForm; errors?: FieldErrors; status?: number } = {},
  ) {
    const [handlers, groups] = await Promise.all([listDirectoryHandlers(sql), listGroups(sql)]);
    const blank = Object.fromEntries(HANDLER_FIELDS.map((f) => [f, ''])) as HandlerForm;
    return reply.page(
      'console-directory',
      {
        nav: 'console',
        handlers,
        groups,
        mayAdd: may(request, MAKERS),
        channelTypes,
        form: extra.form ?? {
          ...blank,
          timezone: 'Asia/Shanghai',
          locale: 'zh-CN',
          channelType: channelTypes[0] ?? '',
        },
        errors: extra.errors ?? {},
      },
      { status: extra.status ?? 200, path: '/console/directory' },
    );
  }

  app.get(
    '/console/directory',
    { schema: web('Handlers and groups, and a form to add a handler') },
    showDirectory,
  );

  app.post<{ Body: Record<string, unknown> }>(
    '/console/directory/handlers',
    { schema: web('Add a handler to the directory'), preHandler: app.csrfProtection },
    async (request, reply) => {
      if (!may(request, MAKERS)) return refused(reply);
      const form = Object.fromEntries(
        HANDLER_FIELDS.map((f) => [
          f,
          typeof request.body[f] === 'string' ? (request.body[f] as string).trim() : '',
        ]),
      ) as HandlerForm;
      const input = handlerInput(form);
      const errors = checkHandler(input) ?? {};
      if (form.channelAddress && !channelTypes.includes(form.channelType)) {
        addError(errors, 'channelType', { key: 'console.error.invalid' });
      }
      if (hasErrors(errors)) return showDirectory(request, reply, { form, errors, status: 400 });
      try {
        const created = await createHandler(
          sql,
          { types: channelTypes, outbound },
          request.webUser!.subject,
          input as HandlerInput,
        );
        await flash(sql, request, {
          kind: 'ok',
          key: 'console.handlerAdded',
          params: { name: created.name },
        });
        return reply.redirect('/console/directory', 303);
      } catch (err) {
        return showDirectory(request, reply, { form, ...refusalErrors(err, handlerFieldOf) });
      }
    },
  );

  app.get(
    '/console/catalogs',
    { schema: web('Exception types, reminder rule templates and source systems') },
    async (_request, reply) => {
      const [exceptionTypes, templates, sources] = await Promise.all([
        listExceptionTypes(sql),
        listTemplates(sql),
        listSourceSystems(sql),
      ]);
      return reply.page('console-catalogs', {
        nav: 'console',
        exceptionTypes,
        templates,
        // Whitelisted, so a secret column added later never reaches the page.
        sources: sources.map((s) => ({
          code: s.code,
          name: s.name,
          trusted: s.trusted,
          callbackUrl: s.callbackUrl,
          rateLimitPerMinute: s.rateLimitPerMinute,
          version: s.version,
          active: s.active,
        })),
      });
    },
  );
}
