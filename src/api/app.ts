import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { availableChannelTypes } from '../channels/settings.js';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import { actionLatency } from '../metrics.js';
import { outboundPolicy } from '../security/outbound-address.js';
import { secretBox } from '../security/secret-box.js';
import { webPlugin } from '../web/plugin.js';
import { authPlugin } from './auth.js';
import { changeService } from './change-service.js';
import { badRequest, errorBody, installErrorHandler } from './errors.js';
import { filingService } from './filing-service.js';
import { matterService } from './matter-service.js';
import { installMetrics } from './metrics.js';
import { actionLinkRoutes } from './routes/action-links.js';
import { auditRoutes } from './routes/audit.js';
import { calendarRoutes } from './routes/calendars.js';
import { callbackRoutes } from './routes/callbacks.js';
import { changeRequestRoutes } from './routes/change-requests.js';
import { delegationRoutes } from './routes/delegations.js';
import { exceptionFilingRoutes } from './routes/exception-filings.js';
import { exceptionTypeRoutes } from './routes/exception-types.js';
import { groupRoutes } from './routes/groups.js';
import { handlerRoutes } from './routes/handlers.js';
import { healthRoutes } from './routes/health.js';
import { matterRoutes } from './routes/matters.js';
import { reminderRuleRoutes } from './routes/reminder-rules.js';
import { reportRoutes } from './routes/reports.js';
import { sourceMatterRoutes } from './routes/source-matters.js';
import { sourceSystemRoutes } from './routes/source-systems.js';
import { tokenRoutes } from './routes/tokens.js';
import { ErrorResponse } from './schemas.js';
import { sourceIngestion } from './source-ingestion.js';
import { sourceRateLimit } from './source-rate-limit.js';
import { installValidation } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, hidden ones included, as "METHOD /url": the authorization table is checked against it. */
    routesServed: readonly string[];
  }
}

export interface AppDeps {
  config: Readonly<Config>;
  sql: Sql;
  temporal: Client;
  log: Logger;
}

const BODY_LIMIT = 256 * 1024;

const FRAMEWORK_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', message: 'the URL is not validly percent-encoded' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URI_TOO_LONG', message: 'a part of the URL is too long' },
};

/** A URL the router cannot even read gets the same error shape as every other refusal. */
function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK_CODES[err.code];
  if (known) reply.code(known.status).send(errorBody(known.code, known.message));
  else reply.code(500).send(errorBody('INTERNAL', 'something went wrong on our side'));
}

const nulRefused = () =>
  badRequest('INVALID_CHARACTER', 'text in the request may not contain the NUL character (U+0000)');

/** Whether any string in a parsed request part (keys included) holds U+0000; raw buffers are the route's business. */
function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || depth > 64) return false;
  for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || hasNul(v, depth + 1)) return true;
  return false;
}

export async function buildApp({ config, sql, temporal, log }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    // action-link tokens are longer than the default 100 characters
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const routesServed: string[] = [];
  const getHandlers = new Set<unknown>();
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (methods.includes('GET')) getHandlers.add(route.handler);
    for (const method of methods) {
      // A HEAD that runs a GET route's own handler and hooks (Fastify adds one to each GET) answers as it does.
      if (method === 'HEAD' && getHandlers.has(route.handler)) continue;
      routesServed.push(`${method} ${route.url}`);
    }
  });
  app.decorate('routesServed', routesServed);

  installErrorHandler(app);
  installValidation(app);
  // Postgres text cannot hold U+0000: refused before any hook or handler queries with it. The URL is
  // parsed when the request arrives (rate limits look up the source it names), the body only later.
  app.addHook('onRequest', async (request) => {
    if (hasNul(request.params) || hasNul(request.query)) throw nulRefused();
  });
  app.addHook('preValidation', async (request) => {
    if (hasNul(request.body)) throw nulRefused();
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        'form-action': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        // Plain-http intranet deployments must keep working; TLS is the proxy's job.
        'upgrade-insecure-requests': null,
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'matterflow',
        version: '1',
        description: 'Pending matters pushed to their handlers, reminded by rule, acted on and recorded.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI sets style attributes as it renders; only its own pages allow that, scripts stay 'self'.
    transformStaticCSP: (header) => header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
  });
  app.addSchema(ErrorResponse);
  const registry = installMetrics(app, sql);
  // Every line about one matter, the request log included, carries its id to search by.
  app.addHook('onRequest', async (request, reply) => {
    const { id } = request.params as { id?: unknown };
    if (typeof id === 'string' && request.routeOptions.url?.startsWith('/v1/matters/:id')) {
      request.log = request.log.child({ matterId: id });
      reply.log = request.log;
    }
  });
  await app.register(authPlugin, { sql });

  const matters = matterService({
    sql,
    temporal,
    taskQueue: config.taskQueue,
    actionTimeoutMs: config.actionTimeoutMs,
    transferAlertAfter: config.transferAlertAfter,
    actionLatency: actionLatency(registry),
  });
  await app.register(healthRoutes, { sql, temporal });
  const outbound = outboundPolicy(config.outboundAllowHosts);
  await app.register(handlerRoutes, {
    sql,
    channels: { types: availableChannelTypes(config.channels), outbound },
  });
  await app.register(delegationRoutes, { sql });
  await app.register(groupRoutes, { sql });
  await app.register(tokenRoutes, { sql });
  const changes = changeService({
    sql,
    matters,
    temporal,
    taskQueue: config.taskQueue,
    actionTimeoutMs: config.actionTimeoutMs,
    log,
  });
  const sourceLimit = await sourceRateLimit(app, sql);
  await app.register(matterRoutes, { sql, matters, changes, sourceLimit });
  await app.register(changeRequestRoutes, { sql, changes });
  await app.register(sourceMatterRoutes, {
    sql,
    ingestion: sourceIngestion({ sql, matters, changes, log }),
    limited: sourceLimit,
  });
  await app.register(reminderRuleRoutes, { sql, matters });
  await app.register(calendarRoutes, { sql });
  await app.register(exceptionTypeRoutes, { sql, outbound });
  const filings = filingService({ sql, temporal, actionTimeoutMs: config.actionTimeoutMs });
  await app.register(exceptionFilingRoutes, { sql, filings });
  await app.register(sourceSystemRoutes, { sql, secrets: secretBox(config.callbackSecretKey), outbound });
  await app.register(auditRoutes, { sql });
  await app.register(reportRoutes, { sql });
  // Before the action links, whose pages share its layout.
  await app.register(webPlugin, { config, sql, temporal, matters, filings, changes });
  await app.register(actionLinkRoutes, { sql, matters, linkSecret: config.linkSecret });
  await app.register(callbackRoutes, {
    sql,
    matters,
    callbacks: config.channels.callbacks,
    linkSecret: config.linkSecret,
  });
  return app;
}
