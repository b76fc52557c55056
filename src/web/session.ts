import type { FastifyReply, FastifyRequest } from 'fastify';
import { findPrincipal, type Role } from '../db/api-tokens.js';
import { audit } from '../db/audit.js';
import type { Sql } from '../db/client.js';
import { getHandler } from '../db/handlers.js';
import {
  type Flash,
  insertWebSession,
  revokeWebSession,
  setWebSessionFlash,
  touchWebSession,
} from '../db/web-sessions.js';
import { hashSecret, newSecret } from '../security/secret-hash.js';

export const SESSION_COOKIE = 'mf_session';
/** A bank's working day: a session unused this long is over. */
export const IDLE_SECONDS = 8 * 3600;
/** However busy, a session is over after this; the person signs in again. */
export const MAX_SECONDS = 24 * 3600;

/** People sign in; source systems are machines and keep to the API. */
export const WEB_ROLES: readonly Role[] = ['admin', 'manager', 'reviewer', 'auditor', 'handler'];

export interface WebUser {
  subject: string;
  role: Role;
  /** The directory's name for a handler, else the subject. */
  name: string;
  locale: string | null;
  timeZone: string;
  /** The session cookie's digest: what CSRF tokens are bound to. */
  sessionHash: string;
  flash: Flash | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    webUser: WebUser | null;
  }
}

export interface CookiePolicy {
  /** Cookies go over TLS only when the service is reached over TLS. */
  secure: (request: FastifyRequest) => boolean;
}

/** Lax, not Strict: a person arriving from a link in their IM app must arrive signed in. */
export const cookieOptions = (request: FastifyRequest, policy: CookiePolicy) =>
  ({ path: '/', httpOnly: true, sameSite: 'lax', secure: policy.secure(request) }) as const;

/**
 * What CSRF tokens are bound to: the session cookie as sent, live or not, so a form from before signing in
 * (or from another person's browser) does not pass, while signing out of an expired session still works.
 */
export function csrfUserInfo(request: FastifyRequest): string {
  const cookie = request.cookies?.[SESSION_COOKIE];
  return cookie ? hashSecret(cookie) : 'anonymous';
}

/** Reads the session cookie into `request.webUser`; a dead session is simply no session. */
export async function loadSession(sql: Sql, request: FastifyRequest): Promise<void> {
  const cookie = request.cookies[SESSION_COOKIE];
  if (!cookie) return;
  const sessionHash = hashSecret(cookie);
  const found = await touchWebSession(sql, {
    idHash: sessionHash,
    idleSeconds: IDLE_SECONDS,
    maxSeconds: MAX_SECONDS,
    // A message is for the page that follows a redirect, and only a GET shows a page.
    takeFlash: request.method === 'GET',
  });
  if (!found) return;
  const handler = found.role === 'handler' ? await getHandler(sql, found.subject) : null;
  request.webUser = {
    subject: found.subject,
    role: found.role,
    name: handler?.name ?? found.subject,
    locale: handler?.locale ?? null,
    timeZone: handler?.timezone ?? 'UTC',
    sessionHash,
    flash: request.method === 'GET' ? found.flash : null,
  };
}

/**
 * Only a path on this site: `//host`, `/\host` and anything with a scheme or control characters would
 * send a person elsewhere after signing in.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000) return '/inbox';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/inbox';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '/inbox';
  return next;
}

/** A page for people who have not signed in: off to the sign-in form, coming back here afterwards. */
export async function requireSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.webUser) return;
  const next = request.method === 'GET' ? request.url : '/inbox';
  return reply.redirect(`/sign-in?next=${encodeURIComponent(safeNext(next))}`, 303);
}

export type SignIn =
  | { ok: true; subject: string; role: Role }
  | { ok: false; problem: 'INVALID' | 'NOT_FOR_PEOPLE' };

/** Checks the token as the API does, then opens a session for its holder and sets the cookie. */
export async function signIn(
  sql: Sql,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  policy: CookiePolicy,
): Promise<SignIn> {
  const found = await findPrincipal(sql, token);
  if ('problem' in found) return { ok: false, problem: 'INVALID' };
  if (!WEB_ROLES.includes(found.principal.role)) return { ok: false, problem: 'NOT_FOR_PEOPLE' };
  const secret = newSecret();
  const opened = await sql.begin(async (tx) => {
    const row = await insertWebSession(tx, {
      idHash: hashSecret(secret),
      tokenHash: hashSecret(token),
      idleSeconds: IDLE_SECONDS,
    });
    if (row) {
      await audit(tx, {
        actorId: row.subject,
        action: 'web.signed-in',
        entityType: 'web-session',
        entityId: hashSecret(secret).slice(0, 16),
        data: { role: row.role, ip: request.ip, userAgent: request.headers['user-agent'] ?? null },
      });
    }
    return row;
  });
  if (!opened) return { ok: false, problem: 'INVALID' };
  reply.setCookie(SESSION_COOKIE, secret, { ...cookieOptions(request, policy), maxAge: MAX_SECONDS });
  return { ok: true, ...opened };
}

export async function signOut(
  sql: Sql,
  request: FastifyRequest,
  reply: FastifyReply,
  policy: CookiePolicy,
): Promise<void> {
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie) {
    const idHash = hashSecret(cookie);
    await sql.begin(async (tx) => {
      const ended = await revokeWebSession(tx, idHash);
      if (ended) {
        await audit(tx, {
          actorId: ended.subject,
          action: 'web.signed-out',
          entityType: 'web-session',
          entityId: idHash.slice(0, 16),
          data: { role: ended.role },
        });
      }
    });
  }
  reply.clearCookie(SESSION_COOKIE, cookieOptions(request, policy));
}

/** Leaves a message for the page the browser is redirected to next. */
export async function flash(sql: Sql, request: FastifyRequest, message: Flash): Promise<void> {
  if (request.webUser) await setWebSessionFlash(sql, request.webUser.sessionHash, message);
}
