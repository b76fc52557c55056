import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import fastifyStatic from '@fastify/static';
import view from '@fastify/view';
import type { Client } from '@temporalio/client';
import { Eta } from 'eta';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ChangeService } from '../api/change-service.js';
import type { FilingService } from '../api/filing-service.js';
import type { MatterService } from '../api/matter-service.js';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import type { Flash } from '../db/web-sessions.js';
import { dateFormatter, LOCALES, type Locale, matchLocale, resolveLocale, translator } from './i18n.js';
import { consoleRoutes } from './routes/console.js';
import { exceptionBoardRoutes } from './routes/exceptions.js';
import { inboxRoutes } from './routes/inbox.js';
import { matterPageRoutes } from './routes/matter.js';
import { signInRoutes } from './routes/sign-in.js';
import { type CookiePolicy, cookieOptions, csrfUserInfo, loadSession, requireSession } from './session.js';

export const LANG_COOKIE = 'mf_lang';
const LANG_NAMES: Record<Locale, string> = { 'zh-CN': '中文', en: 'English' };
/** Roles that see the console link; the console checks for itself what each may do there. */
const CONSOLE_ROLES = new Set(['admin', 'manager', 'reviewer']);

export interface WebDeps {
  config: Readonly<Config>;
  sql: Sql;
  temporal: Client;
  matters: MatterService;
  filings: FilingService;
  changes: ChangeService;
}

export interface PageOptions {
  status?: number;
  /** The language of whom the page is for when nobody is signed in (an action link's handler). */
  handlerLocale?: string | null;
  timeZone?: string;
  /** Where the language switch leads when the page answers a POST. */
  path?: string;
}

declare module 'fastify' {
  interface FastifyReply {
    /** Renders `templates/<template>.eta` inside the shared layout, with translations and the signed-in user. */
    page(template: string, data?: Record<string, unknown>, options?: PageOptions): Promise<FastifyReply>;
  }
}

/** What every template gets as `it`, besides its own data. */
export interface PageContext {
  t: ReturnType<typeof translator>;
  lang: Locale;
  user: FastifyRequest['webUser'];
  showConsole: boolean;
  csrfField: () => string;
  flash: { kind: Flash['kind']; text: string } | null;
  langLinks: { locale: Locale; label: string; href: string; current: boolean }[];
  date: (d: Date | null) => string;
  path: string;
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function langHref(url: string, locale: Locale): string {
  const parsed = new URL(url, 'http://local');
  parsed.searchParams.set('lang', locale);
  return `${parsed.pathname}${parsed.search}`;
}

/**
 * The web terminal: server-rendered pages over the same services as the API. The foundation (cookies,
 * templates, static files, CSRF, `reply.page`) is shared with the whole app, so action-link pages use the
 * same layout; the pages themselves live in one child context with its session hook and HTML errors.
 */
export const webPlugin = fp(
  async (app: FastifyInstance, deps: WebDeps) => {
    const https = deps.config.publicBaseUrl.startsWith('https://');
    const policy: CookiePolicy = { secure: (request) => https || request.protocol === 'https' };

    await app.register(cookie);
    await app.register(csrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: 'mf_csrf',
      cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: https },
      // Bound to the session, so a token from before signing in (or another person's) does not pass.
      csrfOpts: {
        hmacKey: createHmac('sha256', deps.config.linkSecret).update('matterflow web csrf').digest(),
      },
      getUserInfo: csrfUserInfo,
    });
    await app.register(view, {
      engine: { eta: new Eta({ autoEscape: true, autoTrim: false }) },
      templates: fileURLToPath(new URL('./templates', import.meta.url)),
      production: true,
    });
    await app.register(fastifyStatic, {
      root: fileURLToPath(new URL('./static', import.meta.url)),
      prefix: '/static/',
      maxAge: '1h',
    });
    app.decorateRequest('webUser', null);

    app.decorateReply(
      'page',
      async function page(
        this: FastifyReply,
        template: string,
        data: Record<string, unknown> = {},
        options: PageOptions = {},
      ) {
        const request = this.request;
        const user = request.webUser;
        const asked = matchLocale((request.query as { lang?: unknown } | undefined)?.lang as string);
        // A request refused before its cookies were read (a bad bearer token) still gets its error page.
        const cookies = request.cookies ?? {};
        if (asked && asked !== cookies[LANG_COOKIE]) {
          this.setCookie(LANG_COOKIE, asked, { ...cookieOptions(request, policy), maxAge: 365 * 86400 });
        }
        const lang = resolveLocale({
          query: asked ?? undefined,
          cookie: cookies[LANG_COOKIE],
          handlerLocale: user?.locale ?? options.handlerLocale,
          acceptLanguage: request.headers['accept-language'],
        });
        const t = translator(lang);
        const path = options.path ?? (request.method === 'GET' ? request.url : '/inbox');
        const context: PageContext = {
          t,
          lang,
          user,
          showConsole: !!user && CONSOLE_ROLES.has(user.role),
          csrfField: () =>
            `<input type="hidden" name="_csrf" value="${escapeAttr(
              this.generateCsrf({ userInfo: csrfUserInfo(request) }),
            )}">`,
          flash: user?.flash ? { kind: user.flash.kind, text: t(user.flash.key, user.flash.params) } : null,
          langLinks: LOCALES.map((locale) => ({
            locale,
            label: LANG_NAMES[locale],
            href: langHref(path, locale),
            current: locale === lang,
          })),
          date: dateFormatter(lang, user?.timeZone ?? options.timeZone ?? 'UTC'),
          path,
        };
        const html = await this.viewAsync(template, { ...context, ...data });
        return this.code(options.status ?? 200)
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(html);
      },
    );

    await app.register(async (pages) => {
      pages.addHook('onRequest', async (request) => loadSession(deps.sql, request));
      pages.setErrorHandler(htmlErrors);
      await pages.register(signInRoutes, { sql: deps.sql, policy });
      // Everything below needs a signed-in person.
      await pages.register(async (signedIn) => {
        signedIn.addHook('preHandler', requireSession);
        await signedIn.register(inboxRoutes, deps);
        await signedIn.register(matterPageRoutes, deps);
        await signedIn.register(exceptionBoardRoutes, deps);
        await signedIn.register(consoleRoutes, deps);
      });
    });
  },
  { name: 'web', dependencies: ['auth'] },
);

/** A person gets a page saying what went wrong, never a stack trace or a JSON body. */
async function htmlErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  let key = 'error.internal';
  let message: string | null = null;
  if (err.code?.startsWith('FST_CSRF_')) key = 'error.csrf';
  else if (status === 429) key = 'error.tooMany';
  else if (err.validation) key = 'error.invalid';
  else if (status === 404) key = 'error.notFound';
  else if (status < 500) message = err.message;
  if (status >= 500) request.log.error({ err }, 'page failed');
  return reply.page('error', { key, message, detail: err.validation ? err.message : null }, { status });
}
