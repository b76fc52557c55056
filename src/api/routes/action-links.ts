import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LinkAction } from '../../activities/contracts.js';
import { claimActionLink, linkState, releaseActionLink } from '../../db/action-links.js';
import type { Sql } from '../../db/client.js';
import { standsInFor } from '../../db/delegations.js';
import { lastSettlingEvent } from '../../db/events.js';
import type { MatterRow } from '../../db/matters.js';
import { ActionRefusal } from '../../domain/errors.js';
import { describeOutcome } from '../../domain/outcome.js';
import { type ActionClaims, ActionTokenError, verifyActionToken } from '../../security/action-token.js';
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

const DEAD_LINK: Record<string, string> = {
  unknown: 'this action link is not valid',
  used: 'this action link has already been used',
  revoked: 'this action link is no longer valid: the matter was transferred or completed',
  expired: 'this action link has expired',
};

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 1024 }) });

export const actionLinkRoutes: FastifyPluginAsyncTypebox<{
  sql: Sql;
  matters: MatterService;
  linkSecret: string;
}> = async (app, { sql, matters, linkSecret }) => {
  function wantsHtml(request: FastifyRequest): boolean {
    if (request.method === 'POST')
      return request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ?? false;
    return !(request.headers.accept ?? '').includes('application/json');
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, err: ApiError) {
    reply.code(err.statusCode);
    if (wantsHtml(request)) {
      return reply
        .type('text/html; charset=utf-8')
        .send(resultPage('This link cannot be used', err.message, false));
    }
    return reply.send({
      error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
    });
  }

  /** A link that no longer acts says why, and who did what with the matter meanwhile. */
  async function deadLink(state: string, matterId: string): Promise<ApiError> {
    const last = state === 'unknown' ? null : await lastSettlingEvent(sql, matterId);
    const happened = last ? describeOutcome(last) : null;
    const reason = DEAD_LINK[state] ?? DEAD_LINK.used!;
    return new ApiError(
      state === 'unknown' ? 404 : 410,
      `LINK_${state.toUpperCase()}`,
      happened ? `${reason}. ${happened}.` : reason,
      happened
        ? { happened: { type: last!.type, by: last!.by, to: last!.to, at: last!.at.toISOString() } }
        : undefined,
    );
  }

  /**
   * Signature, expiry, the stored link and the matter's current holder must all agree; a stand-in's
   * link works only while they still stand in for the holder.
   */
  async function openLink(
    token: string,
  ): Promise<{ claims: ActionClaims; matter: MatterRow; onBehalfOf: string | null }> {
    let claims: ActionClaims;
    try {
      claims = verifyActionToken(linkSecret, token, Date.now());
    } catch (err) {
      if (err instanceof ActionTokenError) {
        throw err.problem === 'EXPIRED'
          ? new ApiError(410, 'LINK_EXPIRED', err.message)
          : new ApiError(404, 'LINK_INVALID', err.message);
      }
      throw err;
    }
    const state = await linkState(sql, token);
    if (state !== 'live') throw await deadLink(state, claims.matterId);
    const matter = await matters.load(claims.matterId);
    const holder = matter.handlerId;
    const own = holder === claims.handlerId;
    if (
      matter.status !== 'open' ||
      !holder ||
      (!own && !(await standsInFor(sql, claims.handlerId, holder)))
    ) {
      throw await deadLink('revoked', claims.matterId);
    }
    return { claims, matter, onBehalfOf: own ? null : holder };
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
        const { claims, matter } = await openLink(request.params.token);
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
        return reply.type('text/html; charset=utf-8').send(confirmPage(matter, claims.action));
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
        const { claims, onBehalfOf } = await openLink(token);
        const body = (request.body ?? {}) as Record<string, unknown>;
        const checker = CHECKERS[claims.action];
        if (!checker.Check(body)) {
          const details = [...checker.Errors(body)].map((e) => ({
            field: `body${e.path.replace(/\//g, '.')}`,
            problem: e.message,
          }));
          throw badRequest('VALIDATION_FAILED', `invalid ${claims.action} request`, details);
        }
        if (!(await claimActionLink(sql, token))) {
          const state = await linkState(sql, token);
          throw await deadLink(state === 'live' ? 'used' : state, claims.matterId);
        }
        const actorId = claims.handlerId;
        const acting = onBehalfOf ? { actorId, onBehalfOf } : { actorId };
        try {
          const result =
            claims.action === 'complete'
              ? await matters.complete(claims.matterId, { ...acting, ...(body as object) })
              : claims.action === 'transfer'
                ? await matters.transfer(claims.matterId, {
                    ...acting,
                    ...(body as { toHandlerId: string; reason: string }),
                  })
                : await matters.fileException(claims.matterId, {
                    ...acting,
                    ...(body as { eventType: string; description: string }),
                  });
          if (wantsHtml(request)) {
            return reply
              .type('text/html; charset=utf-8')
              .send(
                resultPage(
                  'Done',
                  `Recorded: ${claims.action} on matter ${result.id}. You can close this page.`,
                  true,
                ),
              );
          }
          return reply.send(result);
        } catch (err) {
          const retryable = !(err instanceof ApiError) || RETRYABLE.has(err.code);
          if (retryable) await releaseActionLink(sql, token);
          throw err;
        }
      } catch (err) {
        if (err instanceof ApiError) return sendError(request, reply, err);
        throw err;
      }
    },
  );
};
