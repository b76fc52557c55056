import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LinkAction } from '../../activities/contracts.js';
import type { Sql } from '../../db/client.js';
import { getHandler } from '../../db/handlers.js';
import { ActionRefusal } from '../../domain/errors.js';
import { actionLinkService } from '../action-link-service.js';
import { ApiError, badRequest } from '../errors.js';
import type { MatterService } from '../matter-service.js';
import { CompleteBody, ErrorResponse, ExceptionBody, TransferBody } from '../schemas.js';
import { confirmPage, resultPage } from '../views/action-page.js';

const BODIES: Record<LinkAction, TSchema> = {
  complete: CompleteBody,
  transfer: TransferBody,
  exception: ExceptionBody,
};
const CHECKERS = Object.fromEntries(
  Object.entries(BODIES).map(([action, schema]) => [action, TypeCompiler.Compile(schema)]),
) as Record<LinkAction, ReturnType<typeof TypeCompiler.Compile>>;

/** Refusals that the holder can fix and try again with the same link. */
const RETRYABLE = new Set<string>([
  ActionRefusal.INVALID_ACTION,
  ActionRefusal.UNKNOWN_HANDLER,
  ActionRefusal.TRANSFER_TO_SELF,
  'ENGINE_UNAVAILABLE',
]);

/** A form sends an optional field left blank as ""; that means "not given", as its absence does in JSON. */
function formOrJson(request: FastifyRequest): Record<string, unknown> {
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return body;
  return Object.fromEntries(
    Object.entries(body).filter(([, v]) => !(typeof v === 'string' && v.trim() === '')),
  );
}

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 1024 }) });

export const actionLinkRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  matters: MatterService;
  linkSecret: string;
}> = async (app, { sql, matters, linkSecret }) => {
  const links = actionLinkService({ sql, matters, linkSecret });

  function wantsHtml(request: FastifyRequest): boolean {
    if (request.method === 'POST')
      return request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ?? false;
    return !(request.headers.accept ?? '').includes('application/json');
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, err: ApiError) {
    reply.code(err.statusCode);
    if (wantsHtml(request)) {
      return resultPage(reply, { ok: false, message: err.message });
    }
    return reply.send({
      error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
    });
  }

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-robots-tag', 'noindex, nofollow');
  });

  app.get(
    '/a/:token',
    {
      schema: {
        tags: ['action links'],
        summary: 'Show the matter and a confirm form; changes nothing',
        params: TokenParams,
        response: {
          200: Type.Unknown({ description: 'HTML confirm page, or JSON when asked for' }),
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      try {
        const { claims, matter } = await links.open(request.params.token);
        if (!wantsHtml(request))
          return reply.send({
            action: claims.action,
            matter: {
              id: matter.id,
              title: matter.title,
              status: matter.status,
              handlerId: matter.handlerId,
            },
          });
        return confirmPage(reply, matter, claims.action, await getHandler(sql, claims.handlerId));
      } catch (err) {
        if (err instanceof ApiError) return sendError(request, reply, err);
        throw err;
      }
    },
  );

  app.post(
    '/a/:token',
    {
      schema: {
        tags: ['action links'],
        summary: 'Act through a single-use link: the same fields as the matching /v1 route',
        params: TokenParams,
        response: {
          200: Type.Unknown({ description: 'HTML result page for forms, else the action result' }),
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const token = request.params.token;
      try {
        const { claims, onBehalfOf } = await links.open(token);
        const body = formOrJson(request);
        const checker = CHECKERS[claims.action];
        if (!checker.Check(body)) {
          const details = [...checker.Errors(body)].map((e) => ({
            field: `body${e.path.replace(/\//g, '.')}`,
            problem: e.message,
          }));
          throw badRequest('VALIDATION_FAILED', `invalid ${claims.action} request`, details);
        }
        const actorId = claims.handlerId;
        const acting = onBehalfOf ? { actorId, onBehalfOf } : { actorId };
        const result = await links.use(
          token,
          claims.matterId,
          () =>
            claims.action === 'complete'
              ? matters.complete(claims.matterId, { ...acting, ...(body as object) })
              : claims.action === 'transfer'
                ? matters.transfer(claims.matterId, {
                    ...acting,
                    ...(body as { toHandlerId: string; reason: string }),
                  })
                : matters.fileException(claims.matterId, {
                    ...acting,
                    ...(body as { eventType: string; description: string }),
                  }),
          (err) => !(err instanceof ApiError) || RETRYABLE.has(err.code),
        );
        if (wantsHtml(request)) {
          return resultPage(
            reply,
            { ok: true, action: claims.action, matterId: result.id },
            await getHandler(sql, claims.handlerId),
          );
        }
        return reply.send(result);
      } catch (err) {
        if (err instanceof ApiError) return sendError(request, reply, err);
        throw err;
      }
    },
  );
};
