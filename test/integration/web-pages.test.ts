import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/security/secret-hash.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { WebClient } from '../support/web.js';

/**
 * The handler's web pages against the real stack: sign-in into a server-side session, the inbox, the
 * matter page and its forms, the exception board, and what happens to a form without its CSRF token.
 */
let stack: TestStack;
let sourceToken: string;
const SOURCE = `web-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  stack = await startStack();
  sourceToken = await issueToken(stack, SOURCE, 'source');
});
afterAll(async () => stack?.close());

async function push(handlerId: string, title: string, dueAt?: Date): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: {
      source: SOURCE,
      externalId: randomUUID(),
      title,
      handlerId,
      ...(dueAt ? { dueAt: dueAt.toISOString() } : {}),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** A handler whose directory entry says English, signed in. */
async function englishHandler(): Promise<{ id: string; token: string; web: WebClient }> {
  const handler = await createHandler(stack);
  const patched = await call(stack, 'PATCH', `/v1/handlers/${handler.id}`, {
    token: stack.adminToken,
    body: { locale: 'en', timezone: 'Asia/Shanghai' },
  });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  const web = new WebClient(stack.baseUrl);
  await web.signIn(handler.token);
  return { ...handler, web };
}

const inboxItems = (html: string) =>
  [
    ...html.matchAll(
      /<li class="matter( is-overdue)?">\s*<a class="matter-title" href="\/matters\/([^"]+)">([^<]+)<\/a>/g,
    ),
  ].map((m) => ({ overdue: m[1] !== undefined, id: m[2]!, title: m[3]! }));

describe('the web pages', () => {
  it('when a handler signs in with their token, then an HttpOnly session cookie is set and the inbox lists their matters soonest due first, the overdue one marked in words', async () => {
    const handler = await createHandler(stack);
    await call(stack, 'PATCH', `/v1/handlers/${handler.id}`, {
      token: stack.adminToken,
      body: { locale: 'en' },
    });
    const web = new WebClient(stack.baseUrl);
    await web.get('/sign-in');
    const signedIn = await web.post('/sign-in', { token: handler.token, next: '/inbox' });
    expect(signedIn.res.status).toBe(303);
    expect(signedIn.res.headers.get('location')).toBe('/inbox');
    const setCookie = signedIn.res.headers.getSetCookie().find((c) => c.startsWith('mf_session='))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\//);
    const [stored] = await stack.sql<{ subject: string; role: string }[]>`
      select subject, role from web_sessions where id_hash = ${hashSecret(web.cookie('mf_session')!)}`;
    expect(stored, 'the session is kept server-side under the cookie’s digest').toEqual({
      subject: handler.id,
      role: 'handler',
    });

    const hour = 3600_000;
    const later = await push(handler.id, 'Due in two days', new Date(Date.now() + 48 * hour));
    const none = await push(handler.id, 'No due time');
    const overdue = await push(handler.id, 'Was due an hour ago', new Date(Date.now() - hour));
    const soon = await push(handler.id, 'Due in an hour', new Date(Date.now() + hour));
    const { res, html } = await web.get('/inbox');
    expect(res.status).toBe(200);
    expect(html).toContain('<html lang="en">');
    expect(inboxItems(html).map((i) => i.id)).toEqual([overdue, soon, later, none]);
    expect(inboxItems(html).map((i) => i.overdue)).toEqual([true, false, false, false]);
    const overdueRow = html.slice(html.indexOf(`/matters/${overdue}`), html.indexOf(`/matters/${soon}`));
    expect(overdueRow, 'overdue is said in words, not only in colour').toContain('>Overdue</strong>');

    const filtered = await web.get('/inbox?overdue=1');
    expect(inboxItems(filtered.html).map((i) => i.id)).toEqual([overdue]);
    const searched = await web.get(`/inbox?q=${encodeURIComponent('two days')}`);
    expect(inboxItems(searched.html).map((i) => i.id)).toEqual([later]);
  });

  it('when nobody is signed in, then a page redirects to the sign-in form and comes back to it afterwards; an off-site next is ignored', async () => {
    const web = new WebClient(stack.baseUrl);
    const { res } = await web.get('/inbox?priority=high');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/sign-in?next=${encodeURIComponent('/inbox?priority=high')}`);
    expect((await web.get('/')).res.headers.get('location')).toBe('/inbox');

    const handler = await createHandler(stack);
    await web.get('/sign-in?next=//evil.example/x');
    const signedIn = await web.post('/sign-in', { token: handler.token, next: '//evil.example/x' });
    expect(signedIn.res.headers.get('location')).toBe('/inbox');
  });

  it('when the token is unknown or a source system’s, then sign-in is refused with a readable message and no session', async () => {
    const web = new WebClient(stack.baseUrl, { 'accept-language': 'en' });
    await web.get('/sign-in');
    const unknown = await web.post('/sign-in', { token: 'not-a-real-token-at-all' });
    expect(unknown.res.status).toBe(401);
    expect(unknown.html).toContain('This token is not valid');
    await web.get('/sign-in');
    const machine = await web.post('/sign-in', { token: sourceToken });
    expect(machine.res.status).toBe(401);
    expect(machine.html).toContain('Tokens of source systems cannot sign in');
    expect(web.cookie('mf_session')).toBeUndefined();
  });

  it('when a form is posted without its CSRF token, then it is refused with 403 and a readable page, and nothing happens', async () => {
    const { id, web } = await englishHandler();
    const matter = await push(id, 'Guarded by CSRF');
    await web.get(`/matters/${matter}`);
    const res = await web.post(`/matters/${matter}/complete`, { outcome: 'forged' }, { csrf: false });
    expect(res.res.status).toBe(403);
    expect(res.res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.html).toContain('This form has expired or did not come from this site');
    expect(res.html).not.toMatch(/at .*\.ts:\d+/);
    const forged = await web.post(
      `/matters/${matter}/complete`,
      { outcome: 'forged', _csrf: 'made-up' },
      { csrf: false },
    );
    expect(forged.res.status).toBe(403);
    const [row] = await stack.sql<{ status: string }[]>`select status from matters where id = ${matter}`;
    expect(row!.status).toBe('open');
  });

  it('when a handler completes a matter with the form on its page, then they are sent to the inbox with a message and the matter is gone from it', async () => {
    const { id, web } = await englishHandler();
    const matter = await push(id, `Approve loan ${randomUUID().slice(0, 4)}`);
    const page = await eventually(async () => {
      const shown = await web.get(`/matters/${matter}`);
      return shown.html.includes('Assigned') && shown;
    }, 'the assignment on the timeline');
    expect(page.html).toContain('Complete the matter');
    const done = await web.post(`/matters/${matter}/complete`, {
      outcome: 'approved',
      comment: 'all in order',
    });
    expect(done.res.status, done.html.slice(0, 500)).toBe(303);
    expect(done.res.headers.get('location')).toBe('/inbox');
    const inbox = await web.get('/inbox');
    expect(inbox.html).toContain('The matter is completed.');
    expect(inboxItems(inbox.html).map((i) => i.id)).not.toContain(matter);
    const after = await web.get(`/matters/${matter}`);
    expect(after.html).toContain('Completed');
    expect(after.html).toContain('approved');
    expect(after.html).not.toContain('Complete the matter');

    const again = await web.post(`/matters/${matter}/complete`, {});
    expect(again.res.status, 'a refusal is shown on the page with its reason').toBe(409);
    expect(again.html).toContain('matter is already completed');
  });

  it('when a handler transfers a matter by picking a colleague, then it leaves their inbox and the colleague can hand it back', async () => {
    const alice = await englishHandler();
    const bob = await englishHandler();
    const matter = await push(alice.id, 'To be passed on');
    const page = await alice.web.get(`/matters/${matter}`);
    expect(page.html).toContain(`<option value="${bob.id}">`);
    const moved = await alice.web.post(`/matters/${matter}/transfer`, {
      toHandlerId: bob.id,
      reason: 'his branch',
    });
    expect(moved.res.status, moved.html.slice(0, 500)).toBe(303);
    expect(inboxItems((await alice.web.get('/inbox')).html).map((i) => i.id)).not.toContain(matter);
    const bobs = await bob.web.get(`/matters/${matter}`);
    expect(bobs.html).toContain('Hand the matter back');
    expect(bobs.html).toContain('his branch');
    const back = await bob.web.post(`/matters/${matter}/reject-transfer`, { reason: 'not ours' });
    expect(back.res.status, back.html.slice(0, 500)).toBe(303);
    expect(inboxItems((await alice.web.get('/inbox')).html).map((i) => i.id)).toContain(matter);
  });

  it('when a handler chooses an exception type, then its fields render as labelled inputs, and filing it shows on the timeline and the board', async () => {
    const code = `WEB_${randomUUID().slice(0, 6).toUpperCase()}`;
    const { id, web } = await englishHandler();
    const type = await call(stack, 'POST', '/v1/exception-types', {
      token: stack.adminToken,
      body: {
        code,
        names: { 'zh-CN': '账实不符', en: 'Balance mismatch' },
        severity: 'high',
        subscribers: [{ kind: 'handler', id }],
        fieldsSchema: {
          type: 'object',
          properties: {
            amount: { type: 'number', title: 'Amount', minimum: 0 },
            account: { type: 'string', title: 'Account', maxLength: 40 },
            channel: { enum: ['counter', 'online'], title: 'Channel' },
            reported: { type: 'boolean', title: 'Reported to the branch' },
          },
          required: ['amount', 'channel'],
        },
      },
    });
    expect(type.status, JSON.stringify(type.body)).toBe(201);
    const matter = await push(id, 'Reconcile the vault');
    const chooser = await web.get(`/matters/${matter}`);
    expect(chooser.html).toContain(`<option value="${code}">Balance mismatch (${code})</option>`);
    const form = await web.get(`/matters/${matter}?eventType=${code}`);
    expect(form.html).toMatch(
      /<label for="exception-field-0">Amount <span class="req">\(required\)<\/span><\/label>/,
    );
    expect(form.html).toMatch(
      /<input id="exception-field-0" name="fields.amount" type="number" step="any" min="0" required/,
    );
    expect(form.html).toMatch(
      /<input id="exception-field-1" name="fields.account" type="text" maxlength="40"/,
    );
    expect(form.html).toMatch(/<select id="exception-field-2" name="fields.channel" required>/);
    expect(form.html).toContain('<option value="online">online</option>');
    expect(form.html).toMatch(/<select id="exception-field-3" name="fields.reported">/);

    const wrong = await web.post(`/matters/${matter}/exceptions`, {
      eventType: code,
      description: 'Short by 500',
      'fields.amount': '500',
    });
    expect(wrong.res.status, 'a missing required field is refused on the page').toBe(400);
    expect(wrong.html).toContain('channel');
    expect(wrong.html, 'what was typed is kept').toContain('Short by 500</textarea>');

    const filed = await web.post(`/matters/${matter}/exceptions`, {
      eventType: code,
      description: 'Short by 500',
      'fields.amount': '500',
      'fields.channel': 'counter',
      'fields.reported': 'true',
    });
    expect(filed.res.status, filed.html.slice(0, 800)).toBe(303);
    const page = await web.get(`/matters/${matter}`);
    expect(page.html).toContain('The exception was filed.');
    expect(page.html).toContain(`Exception filed: ${code}`);
    const [filing] = await stack.sql<{ id: string; fields: Record<string, unknown> }[]>`
      select id, fields from exception_filings where matter_id = ${matter}`;
    expect(filing!.fields).toEqual({ amount: 500, channel: 'counter', reported: true });

    const board = await web.get(`/exceptions?type=${code}`);
    expect(board.html).toContain('Balance mismatch');
    expect(board.html).toContain(`href="/matters/${matter}"`);
    expect(board.html).toContain('Acknowledge the filing');
    const ack = await web.post(`/exceptions/${filing!.id}/acknowledge`, { note: 'looking' });
    expect(ack.res.status, ack.html.slice(0, 800)).toBe(303);
    await web.get(`/exceptions?type=${code}`);
    const closed = await web.post(`/exceptions/${filing!.id}/close`, { note: 'counted again' });
    expect(closed.res.status, closed.html.slice(0, 800)).toBe(303);
    const after = await web.get(`/exceptions?type=${code}`);
    expect(after.html).toContain('The filing is closed.');
    expect(after.html).toContain('counted again');
    expect(after.html).not.toContain('Close the filing');
  });

  it('when the handler’s language is zh-CN, then the pages are in Chinese with lang="zh-CN", and ?lang=en switches and is remembered', async () => {
    const handler = await createHandler(stack);
    const web = new WebClient(stack.baseUrl, { 'accept-language': 'en-GB,en;q=0.9' });
    await web.signIn(handler.token);
    const zh = await web.get('/inbox');
    expect(zh.html).toContain('<html lang="zh-CN">');
    expect(zh.html).toContain('我的待办');
    expect(zh.html).toContain('退出登录');
    const en = await web.get('/inbox?lang=en');
    expect(en.html).toContain('<html lang="en">');
    expect(en.html).toContain('My inbox');
    expect((await web.get('/exceptions')).html).toContain('Exception board');
  });

  it('when a person signs out, then the session is revoked and the old cookie no longer opens a page', async () => {
    const { id, web } = await englishHandler();
    const cookie = web.cookie('mf_session')!;
    const out = await web.post('/sign-out', {});
    expect(out.res.status).toBe(303);
    expect(out.res.headers.get('location')).toBe('/sign-in?signedOut');
    const [row] = await stack.sql<{ revokedAt: Date | null }[]>`
      select revoked_at as "revokedAt" from web_sessions where id_hash = ${hashSecret(cookie)}`;
    expect(row!.revokedAt).not.toBeNull();
    const replay = await fetch(`${stack.baseUrl}/inbox`, {
      redirect: 'manual',
      headers: { cookie: `mf_session=${cookie}` },
    });
    expect(replay.status).toBe(303);
    const audited = await stack.sql<{ action: string }[]>`
      select action from audit_log where actor_id = ${id} and action like 'web.%' order by chain_seq`;
    expect(audited.map((a) => a.action)).toEqual(['web.signed-in', 'web.signed-out']);
  });

  it('when the token a session was opened with is revoked, then the session ends with it', async () => {
    const { web } = await englishHandler();
    const [token] = await stack.sql<{ id: string }[]>`
      select token_id as id from web_sessions where id_hash = ${hashSecret(web.cookie('mf_session')!)}`;
    await call(stack, 'DELETE', `/v1/tokens/${token!.id}`, { token: stack.adminToken });
    expect((await web.get('/inbox')).res.status).toBe(303);
  });

  it('serves its pages with a self-only CSP and the stylesheet from /static', async () => {
    const { web } = await englishHandler();
    const { res, html } = await web.get('/inbox');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(html).not.toMatch(/<script|<style|style="/);
    const css = await fetch(`${stack.baseUrl}/static/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });
});
