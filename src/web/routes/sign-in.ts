import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Sql } from '../../db/client.js';
import { type CookiePolicy, safeNext, signIn, signOut } from '../session.js';

const web = (summary: string) => ({ tags: ['web'], summary });

/** Signing in with an API token, once, into a server-side session; signing out ends it. */
export async function signInRoutes(
  app: FastifyInstance,
  { sql, policy }: { sql: Sql; policy: CookiePolicy },
) {
  // Tokens are long and random, but a guesser should still be slowed to a crawl.
  await app.register(rateLimit, { global: false });

  app.get('/', { schema: web('The web terminal starts at the inbox') }, async (_request, reply) =>
    reply.redirect('/inbox', 302),
  );

  app.get<{ Querystring: { next?: string; signedOut?: string; expired?: string } }>(
    '/sign-in',
    { schema: web('Sign-in form: paste an access token') },
    async (request, reply) => {
      const next = safeNext(request.query.next);
      if (request.webUser) return reply.redirect(next, 303);
      const notice = request.query.signedOut !== undefined ? 'signIn.signedOut' : null;
      return reply.page('sign-in', { next, notice, problem: null });
    },
  );

  app.post<{ Body: { token?: unknown; next?: unknown } }>(
    '/sign-in',
    {
      schema: web('Open a session with an access token'),
      preHandler: app.csrfProtection,
      config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      const next = safeNext(request.body?.next);
      const token = typeof request.body?.token === 'string' ? request.body.token.trim() : '';
      const result = token
        ? await signIn(sql, request, reply, token, policy)
        : ({ ok: false, problem: 'INVALID' } as const);
      if (!result.ok) {
        const problem = result.problem === 'NOT_FOR_PEOPLE' ? 'signIn.notForPeople' : 'signIn.invalid';
        return reply.page('sign-in', { next, notice: null, problem }, { status: 401, path: '/sign-in' });
      }
      return reply.redirect(next, 303);
    },
  );

  app.post(
    '/sign-out',
    { schema: web('End the session'), preHandler: app.csrfProtection },
    async (request, reply) => {
      await signOut(sql, request, reply, policy);
      return reply.redirect('/sign-in?signedOut', 303);
    },
  );
}
