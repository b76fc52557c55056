import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';
import { WebClient } from '../support/web.js';

/**
 * Every route × every caller, with the exact answer. A route added without a row here fails the
 * first test (hidden from the OpenAPI document or not), so nobody ships a route whose access nobody decided.
 */
const CALLERS = [
  'anonymous',
  'admin',
  'manager',
  'reviewer',
  'auditor',
  'source:own',
  'source:other',
  'handler:own',
  'handler:other',
] as const;
type Caller = (typeof CALLERS)[number];
type Expect = Record<Caller, number>;

interface Ctx {
  ownMatter: string;
  ownHandler: string;
  otherHandler: string;
}

interface Row {
  /** Fresh objects for this call, so mutating calls never depend on each other. */
  request: (ctx: Ctx) => Promise<{ path: string; body?: unknown }>;
  expect: Expect;
  /**
   * A web page: the caller is a browser signed in with their token (a source system cannot sign in, so it
   * comes as nobody), forms are posted with their CSRF token, and redirects are answers, not followed.
   * `fresh`: a browser of its own, for a call that ends its session.
   */
  web?: { fresh?: boolean };
}

let stack: TestStack;
const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>;
let own: { id: string; token: string };
let other: { id: string; token: string };
const OWN_SOURCE = `authz-${randomUUID().slice(0, 6)}`;
const OWN_GROUP = `authz-grp-${randomUUID().slice(0, 6)}`;
const CALENDAR = {
  code: `authz-cal-${randomUUID().slice(0, 6)}`,
  name: 'Shanghai office',
  timeZone: 'Asia/Shanghai',
  workingDays: [1, 2, 3, 4, 5],
  workingHours: [{ start: '09:00', end: '18:00' }],
};

/** Web pages: nobody, and source systems, are sent to sign in (303); the rest as given, else `otherwise`. */
const page = (allowed: Partial<Expect>, otherwise: number): Expect =>
  Object.fromEntries(
    CALLERS.map((c) => [
      c,
      allowed[c] ?? (c === 'anonymous' || c === 'source:own' || c === 'source:other' ? 303 : otherwise),
    ]),
  ) as Expect;
const STAFF_PAGE = { admin: 403, manager: 403, reviewer: 403, auditor: 403 } as const;
const CONSOLE_PAGE = { admin: 200, manager: 200, reviewer: 200 } as const;

const only = (allowed: Partial<Expect>, otherwise: number): Expect =>
  Object.fromEntries(CALLERS.map((c) => [c, allowed[c] ?? (c === 'anonymous' ? 401 : otherwise)])) as Expect;
const everyone = (status: number): Expect => Object.fromEntries(CALLERS.map((c) => [c, status])) as Expect;

async function newMatter(): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: tokens['source:own'],
    body: { source: OWN_SOURCE, externalId: randomUUID(), title: 'Authz', handlerId: own.id },
  });
  if (res.status !== 201) throw new Error(`creating a matter: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** A matter offered to the group that `own` belongs to. */
async function newGroupMatter(): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: tokens['source:own'],
    body: { source: OWN_SOURCE, externalId: randomUUID(), title: 'Authz group', groupId: OWN_GROUP },
  });
  if (res.status !== 201)
    throw new Error(`creating a group matter: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

let windows = 0;
/** Far-future, one-hour windows that never overlap, so every allowed call can succeed. */
function nextWindow() {
  const start = Date.parse('2100-01-01T00:00:00Z') + windows++ * 2 * 3600_000;
  return {
    delegateId: other.id,
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(start + 3600_000).toISOString(),
  };
}

const ctx = async (): Promise<Ctx> => ({
  ownMatter: await newMatter(),
  ownHandler: own.id,
  otherHandler: other.id,
});

/** A pending request by the manager, to read or to decide. */
async function pendingChange(c: Ctx): Promise<string> {
  const res = await call(stack, 'POST', '/v1/change-requests', {
    token: tokens.manager,
    body: { kind: 'delete', matterId: c.ownMatter, reason: 'duplicate' },
  });
  if (res.status !== 201) throw new Error(`proposing a change: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

/** An exception filed by the own handler on the own matter; its id. */
async function newFiling(c: Ctx): Promise<string> {
  const res = await call(stack, 'POST', `/v1/matters/${c.ownMatter}/exceptions`, {
    token: own.token,
    body: { eventType: 'OTHER', description: 'authz' },
  });
  if (res.status !== 200) throw new Error(`filing: ${res.status} ${JSON.stringify(res.body)}`);
  const [row] = await stack.sql<{ id: string }[]>`
    select id from exception_filings where matter_id = ${c.ownMatter}`;
  return row!.id;
}

const browsers = new Map<Caller, WebClient>();
/** A browser for the caller, signed in with their token when they are a person. */
async function browserFor(caller: Caller, fresh = false): Promise<WebClient> {
  const known = browsers.get(caller);
  if (known && !fresh) return known;
  const web = new WebClient(stack.baseUrl);
  if (caller === 'anonymous' || caller.startsWith('source')) await web.get('/sign-in');
  else await web.signIn(tokens[caller]);
  if (!fresh) browsers.set(caller, web);
  return web;
}

const TABLE: Record<string, Row> = {
  // The web terminal (src/web): pages need a session; actions are the API's, with the same answers as pages.
  'GET /': { request: async () => ({ path: '/' }), expect: everyone(302), web: {} },
  'GET /sign-in': {
    request: async () => ({ path: '/sign-in' }),
    expect: page({ anonymous: 200, 'source:own': 200, 'source:other': 200 }, 303),
    web: {},
  },
  // A wrong token is refused whoever asks; the right one is tested in web-pages.test.ts.
  'POST /sign-in': {
    request: async () => ({ path: '/sign-in', body: { token: 'not-a-token-of-anyone' } }),
    expect: everyone(401),
    web: {},
  },
  'POST /sign-out': {
    request: async () => ({ path: '/sign-out', body: {} }),
    expect: everyone(303),
    web: { fresh: true },
  },
  'GET /inbox': { request: async () => ({ path: '/inbox' }), expect: page({}, 200), web: {} },
  'GET /matters/{id}': {
    request: async (c) => ({ path: `/matters/${c.ownMatter}` }),
    expect: page({ 'handler:other': 404 }, 200),
    web: {},
  },
  'POST /matters/{id}/complete': {
    request: async (c) => ({ path: `/matters/${c.ownMatter}/complete`, body: {} }),
    expect: page({ ...STAFF_PAGE, 'handler:own': 303 }, 404),
    web: {},
  },
  'POST /matters/{id}/transfer': {
    request: async (c) => ({
      path: `/matters/${c.ownMatter}/transfer`,
      body: { toHandlerId: c.otherHandler, reason: 'r' },
    }),
    expect: page({ ...STAFF_PAGE, 'handler:own': 303 }, 404),
    web: {},
  },
  // Allowed for its handler, who is told (409) that this matter came by assignment, not by a transfer.
  'POST /matters/{id}/reject-transfer': {
    request: async (c) => ({ path: `/matters/${c.ownMatter}/reject-transfer`, body: { reason: 'r' } }),
    expect: page({ ...STAFF_PAGE, 'handler:own': 409 }, 404),
    web: {},
  },
  'POST /matters/{id}/exceptions': {
    request: async (c) => ({
      path: `/matters/${c.ownMatter}/exceptions`,
      body: { eventType: 'OTHER', description: 'd' },
    }),
    expect: page({ ...STAFF_PAGE, 'handler:own': 303 }, 404),
    web: {},
  },
  'POST /matters/{id}/acknowledge': {
    request: async (c) => ({ path: `/matters/${c.ownMatter}/acknowledge`, body: { note: 'on it' } }),
    expect: page({ ...STAFF_PAGE, 'handler:own': 303 }, 404),
    web: {},
  },
  'POST /matters/{id}/claim': {
    request: async () => ({ path: `/matters/${await newGroupMatter()}/claim`, body: {} }),
    expect: page({ ...STAFF_PAGE, 'handler:own': 303 }, 404),
    web: {},
  },
  'GET /exceptions': { request: async () => ({ path: '/exceptions' }), expect: page({}, 200), web: {} },
  // OTHER has no subscribers: only managers may act on its filings.
  'POST /exceptions/{id}/acknowledge': {
    request: async (c) => ({ path: `/exceptions/${await newFiling(c)}/acknowledge`, body: {} }),
    expect: page({ admin: 303, manager: 303 }, 403),
    web: {},
  },
  'POST /exceptions/{id}/close': {
    request: async (c) => ({ path: `/exceptions/${await newFiling(c)}/close`, body: { note: 'settled' } }),
    expect: page({ admin: 303, manager: 303 }, 403),
    web: {},
  },
  // The console: managers propose, reviewers decide, admins do both; everyone else gets a 403 page.
  'GET /console': { request: async () => ({ path: '/console' }), expect: page(CONSOLE_PAGE, 403), web: {} },
  'GET /console/matters/new': {
    request: async () => ({ path: '/console/matters/new' }),
    expect: page({ admin: 200, manager: 200 }, 403),
    web: {},
  },
  'POST /console/matters/new': {
    request: async () => ({
      path: '/console/matters/new',
      body: {
        intent: 'submit',
        source: OWN_SOURCE,
        externalId: randomUUID(),
        title: 'Console',
        handlerId: own.id,
        priority: 'normal',
        timeZone: 'UTC',
      },
    }),
    expect: page({ admin: 303, manager: 303 }, 403),
    web: {},
  },
  'GET /console/matters/{id}/edit': {
    request: async (c) => ({ path: `/console/matters/${c.ownMatter}/edit` }),
    expect: page({ admin: 200, manager: 200 }, 403),
    web: {},
  },
  'POST /console/matters/{id}/edit': {
    request: async (c) => ({
      path: `/console/matters/${c.ownMatter}/edit`,
      body: { intent: 'submit', title: 'Renamed', priority: 'normal', timeZone: 'UTC', reason: 'typo' },
    }),
    expect: page({ admin: 303, manager: 303 }, 403),
    web: {},
  },
  'POST /console/matters/{id}/cancel': {
    request: async (c) => ({ path: `/console/matters/${c.ownMatter}/cancel`, body: { cancelReason: 'dup' } }),
    expect: page({ admin: 303, manager: 303 }, 403),
    web: {},
  },
  'GET /console/reviews': {
    request: async () => ({ path: '/console/reviews' }),
    expect: page(CONSOLE_PAGE, 403),
    web: {},
  },
  'GET /console/reviews/{id}': {
    request: async (c) => ({ path: `/console/reviews/${await pendingChange(c)}` }),
    expect: page(CONSOLE_PAGE, 403),
    web: {},
  },
  'POST /console/reviews/{id}/approve': {
    request: async (c) => ({ path: `/console/reviews/${await pendingChange(c)}/approve`, body: {} }),
    expect: page({ admin: 303, reviewer: 303 }, 403),
    web: {},
  },
  'POST /console/reviews/{id}/reject': {
    request: async (c) => ({
      path: `/console/reviews/${await pendingChange(c)}/reject`,
      body: { comment: 'no' },
    }),
    expect: page({ admin: 303, reviewer: 303 }, 403),
    web: {},
  },
  'GET /console/directory': {
    request: async () => ({ path: '/console/directory' }),
    expect: page(CONSOLE_PAGE, 403),
    web: {},
  },
  'POST /console/directory/handlers': {
    request: async () => ({
      path: '/console/directory/handlers',
      body: { id: `azw-${randomUUID().slice(0, 8)}`, name: 'N', timezone: 'UTC', locale: 'en' },
    }),
    expect: page({ admin: 303, manager: 303 }, 403),
    web: {},
  },
  'GET /console/catalogs': {
    request: async () => ({ path: '/console/catalogs' }),
    expect: page(CONSOLE_PAGE, 403),
    web: {},
  },

  'GET /healthz': { request: async () => ({ path: '/healthz' }), expect: everyone(200) },
  'GET /readyz': { request: async () => ({ path: '/readyz' }), expect: everyone(200) },
  // Hidden from the API's description, open like health (src/api/metrics.ts says why).
  'GET /metrics': { request: async () => ({ path: '/metrics' }), expect: everyone(200) },
  // The API's description and Swagger UI's own files: nobody's data, the same for everyone.
  'GET /docs': { request: async () => ({ path: '/docs' }), expect: everyone(200) },
  'GET /docs/json': { request: async () => ({ path: '/docs/json' }), expect: everyone(200) },
  'GET /docs/yaml': { request: async () => ({ path: '/docs/yaml' }), expect: everyone(200) },
  // A redirect to /docs/: the call follows it, so this is the answer found there.
  'GET /docs/static/index.html': {
    request: async () => ({ path: '/docs/static/index.html' }),
    expect: everyone(200),
  },
  'GET /docs/static/swagger-initializer.js': {
    request: async () => ({ path: '/docs/static/swagger-initializer.js' }),
    expect: everyone(200),
  },
  'GET /docs/static/*': {
    request: async () => ({ path: '/docs/static/swagger-ui.css' }),
    expect: everyone(200),
  },
  // The web terminal's stylesheet and icon, which the sign-in page needs before anyone has signed in.
  'GET /static/*': { request: async () => ({ path: '/static/app.css' }), expect: everyone(200) },
  'POST /v1/handlers': {
    request: async () => ({
      path: '/v1/handlers',
      body: { id: `az-${randomUUID().slice(0, 8)}`, name: 'N', channels: [] },
    }),
    expect: only({ admin: 201, manager: 201 }, 403),
  },
  // Channel addresses reach a person: staff and the handler themself; to others the handler is not there.
  'GET /v1/handlers/{id}': {
    request: async () => ({ path: `/v1/handlers/${own.id}` }),
    expect: only({ 'source:own': 404, 'source:other': 404, 'handler:other': 404 }, 200),
  },
  'PATCH /v1/handlers/{id}': {
    request: async () => ({
      path: `/v1/handlers/${own.id}`,
      body: { name: `Renamed ${randomUUID().slice(0, 4)}` },
    }),
    expect: only({ admin: 200, manager: 200 }, 403),
  },
  'POST /v1/handlers/{id}/delegations': {
    request: async () => ({ path: `/v1/handlers/${own.id}/delegations`, body: nextWindow() }),
    expect: only({ admin: 201, manager: 201, 'handler:own': 201 }, 403),
  },
  'GET /v1/handlers/{id}/delegations': {
    request: async () => ({ path: `/v1/handlers/${own.id}/delegations` }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200, 'handler:own': 200 }, 403),
  },
  'DELETE /v1/handlers/{id}/delegations/{delegationId}': {
    request: async () => {
      const res = await call(stack, 'POST', `/v1/handlers/${own.id}/delegations`, {
        token: tokens.admin,
        body: nextWindow(),
      });
      return { path: `/v1/handlers/${own.id}/delegations/${res.body.id}` };
    },
    expect: only({ admin: 200, manager: 200, 'handler:own': 200 }, 403),
  },
  'POST /v1/groups': {
    request: async () => ({
      path: '/v1/groups',
      body: { id: `azg-${randomUUID().slice(0, 8)}`, name: 'G', members: [own.id] },
    }),
    expect: only({ admin: 201, manager: 201 }, 403),
  },
  'GET /v1/groups': {
    request: async () => ({ path: '/v1/groups' }),
    expect: only({ 'source:own': 403, 'source:other': 403 }, 200),
  },
  'GET /v1/groups/{id}': {
    request: async () => ({ path: `/v1/groups/${OWN_GROUP}` }),
    expect: only({ 'source:own': 403, 'source:other': 403, 'handler:other': 404 }, 200),
  },
  'PATCH /v1/groups/{id}': {
    request: async () => ({
      path: `/v1/groups/${OWN_GROUP}`,
      body: { name: `G ${randomUUID().slice(0, 4)}` },
    }),
    expect: only({ admin: 200, manager: 200 }, 403),
  },
  'POST /v1/tokens': {
    request: async () => ({ path: '/v1/tokens', body: { subject: 'someone', role: 'source' } }),
    expect: only({ admin: 201 }, 403),
  },
  'GET /v1/tokens': { request: async () => ({ path: '/v1/tokens' }), expect: only({ admin: 200 }, 403) },
  'DELETE /v1/tokens/{id}': {
    request: async () => {
      const res = await call(stack, 'POST', '/v1/tokens', {
        token: tokens.admin,
        body: { subject: 'victim', role: 'source' },
      });
      return { path: `/v1/tokens/${res.body.id}` };
    },
    expect: only({ admin: 200 }, 403),
  },
  'POST /v1/matters': {
    request: async () => ({
      path: '/v1/matters',
      body: { source: OWN_SOURCE, externalId: randomUUID(), title: 'New', handlerId: own.id },
    }),
    expect: only({ admin: 201, manager: 202, 'source:own': 201 }, 403),
  },
  'GET /v1/matters': { request: async () => ({ path: '/v1/matters' }), expect: only({}, 200) },
  'GET /v1/matters/{id}': {
    request: async (c) => ({ path: `/v1/matters/${c.ownMatter}` }),
    expect: only({ 'source:other': 404, 'handler:other': 404 }, 200),
  },
  'POST /v1/matters/{id}/complete': {
    request: async (c) => ({ path: `/v1/matters/${c.ownMatter}/complete`, body: {} }),
    expect: only({ 'handler:own': 200 }, 403),
  },
  'POST /v1/matters/{id}/transfer': {
    request: async (c) => ({
      path: `/v1/matters/${c.ownMatter}/transfer`,
      body: { toHandlerId: c.otherHandler, reason: 'r' },
    }),
    expect: only({ 'handler:own': 200 }, 403),
  },
  // Allowed for its handler, who gets 409 here: this matter came by assignment, not by a transfer.
  'POST /v1/matters/{id}/reject-transfer': {
    request: async (c) => ({ path: `/v1/matters/${c.ownMatter}/reject-transfer`, body: { reason: 'r' } }),
    expect: only({ 'handler:own': 409 }, 403),
  },
  'POST /v1/matters/{id}/exceptions': {
    request: async (c) => ({
      path: `/v1/matters/${c.ownMatter}/exceptions`,
      body: { eventType: 'OTHER', description: 'd' },
    }),
    expect: only({ 'handler:own': 200 }, 403),
  },
  'POST /v1/matters/{id}/acknowledge': {
    request: async (c) => ({ path: `/v1/matters/${c.ownMatter}/acknowledge`, body: { note: 'on it' } }),
    expect: only({ 'handler:own': 200 }, 403),
  },
  'POST /v1/matters/{id}/claim': {
    request: async () => ({ path: `/v1/matters/${await newGroupMatter()}/claim`, body: {} }),
    expect: only({ 'handler:own': 200 }, 403),
  },
  'POST /v1/matters/{id}/release': {
    request: async () => {
      const id = await newGroupMatter();
      const claimed = await call(stack, 'POST', `/v1/matters/${id}/claim`, { token: own.token, body: {} });
      if (claimed.status !== 200)
        throw new Error(`claiming: ${claimed.status} ${JSON.stringify(claimed.body)}`);
      return { path: `/v1/matters/${id}/release`, body: { reason: 'not mine' } };
    },
    expect: only({ 'handler:own': 200 }, 403),
  },
  'POST /v1/change-requests': {
    request: async (c) => ({
      path: '/v1/change-requests',
      body: { kind: 'delete', matterId: c.ownMatter, reason: 'dup' },
    }),
    expect: only({ admin: 201, manager: 201 }, 403),
  },
  'GET /v1/change-requests': {
    request: async () => ({ path: '/v1/change-requests?status=pending' }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  'GET /v1/change-requests/{id}': {
    request: async (c) => ({ path: `/v1/change-requests/${await pendingChange(c)}` }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  'POST /v1/change-requests/{id}/approve': {
    request: async (c) => ({ path: `/v1/change-requests/${await pendingChange(c)}/approve`, body: {} }),
    expect: only({ admin: 200, reviewer: 200 }, 403),
  },
  'POST /v1/change-requests/{id}/reject': {
    request: async (c) => ({
      path: `/v1/change-requests/${await pendingChange(c)}/reject`,
      body: { comment: 'no' },
    }),
    expect: only({ admin: 200, reviewer: 200 }, 403),
  },
  'POST /v1/reminder-rules': {
    request: async () => ({
      path: '/v1/reminder-rules',
      body: { code: 'authz-rule', rule: { every: 'PT1H' } },
    }),
    expect: only({ admin: 201, manager: 201 }, 403),
  },
  'GET /v1/reminder-rules': { request: async () => ({ path: '/v1/reminder-rules' }), expect: only({}, 200) },
  'GET /v1/reminder-rules/{code}': {
    request: async () => ({ path: '/v1/reminder-rules/authz-seeded' }),
    expect: only({}, 200),
  },
  'POST /v1/exception-types': {
    request: async () => ({
      path: '/v1/exception-types',
      body: {
        code: 'authz-type',
        names: { 'zh-CN': '授权', en: 'Authz' },
        severity: 'low',
        fieldsSchema: { type: 'object' },
      },
    }),
    expect: only({ admin: 201, manager: 201 }, 403),
  },
  'GET /v1/exception-types': {
    request: async () => ({ path: '/v1/exception-types' }),
    expect: only({}, 200),
  },
  'GET /v1/exception-filings': {
    request: async () => ({ path: '/v1/exception-filings?limit=1' }),
    expect: only({ 'source:own': 403, 'source:other': 403 }, 200),
  },
  // The own handler filed it; the seeded type OTHER has no subscribers, so only managers may act on it.
  'GET /v1/exception-filings/{id}': {
    request: async (c) => ({ path: `/v1/exception-filings/${await newFiling(c)}` }),
    expect: only({ 'source:own': 403, 'source:other': 403, 'handler:other': 404 }, 200),
  },
  'POST /v1/exception-filings/{id}/acknowledge': {
    request: async (c) => ({ path: `/v1/exception-filings/${await newFiling(c)}/acknowledge`, body: {} }),
    expect: only({ admin: 200, manager: 200 }, 403),
  },
  'POST /v1/exception-filings/{id}/close': {
    request: async (c) => ({
      path: `/v1/exception-filings/${await newFiling(c)}/close`,
      body: { note: 'settled' },
    }),
    expect: only({ admin: 200, manager: 200 }, 403),
  },
  'GET /v1/exception-types/{code}': {
    request: async () => ({ path: '/v1/exception-types/OTHER' }),
    expect: only({}, 200),
  },
  // Trust lets a source skip review: only an admin grants it, and no source reads how others are trusted.
  'POST /v1/source-systems': {
    request: async () => ({ path: '/v1/source-systems', body: { code: 'authz-source', name: 'Authz' } }),
    expect: only({ admin: 201 }, 403),
  },
  'GET /v1/source-systems': {
    request: async () => ({ path: '/v1/source-systems' }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  'GET /v1/source-systems/{code}': {
    request: async () => {
      await call(stack, 'POST', '/v1/source-systems', {
        token: tokens.admin,
        body: { code: 'authz-listed', name: 'Listed' },
      });
      return { path: '/v1/source-systems/authz-listed' };
    },
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  'GET /v1/source-systems/{code}/callbacks': {
    request: async () => ({ path: `/v1/source-systems/${OWN_SOURCE}/callbacks` }),
    expect: only({ admin: 200, manager: 200, auditor: 200 }, 403),
  },
  // Allowed for an admin only, who gets 404 here: no such callback to send again.
  'POST /v1/source-systems/{code}/callbacks/{id}/retry': {
    request: async () => ({ path: `/v1/source-systems/${OWN_SOURCE}/callbacks/${randomUUID()}/retry` }),
    expect: only({ admin: 404 }, 403),
  },
  // A source writes only its own matters (an admin may for it); staff may read and reconcile.
  'PUT /v1/sources/{source}/matters/{externalId}': {
    request: async () => ({
      path: `/v1/sources/${OWN_SOURCE}/matters/${randomUUID()}`,
      body: { version: 1, title: 'Versioned', handlerId: own.id },
    }),
    expect: only({ admin: 201, 'source:own': 201 }, 403),
  },
  'DELETE /v1/sources/{source}/matters/{externalId}': {
    request: async () => {
      const externalId = randomUUID();
      const res = await call(stack, 'PUT', `/v1/sources/${OWN_SOURCE}/matters/${externalId}`, {
        token: tokens['source:own'],
        body: { version: 1, title: 'To cancel', handlerId: own.id },
      });
      if (res.status !== 201) throw new Error(`pushing: ${res.status} ${JSON.stringify(res.body)}`);
      return { path: `/v1/sources/${OWN_SOURCE}/matters/${externalId}?version=2` };
    },
    expect: only({ admin: 200, 'source:own': 200 }, 403),
  },
  'POST /v1/sources/{source}/matters/bulk': {
    request: async () => ({
      path: `/v1/sources/${OWN_SOURCE}/matters/bulk`,
      body: { items: [{ externalId: randomUUID(), version: 1, title: 'Bulk', handlerId: own.id }] },
    }),
    expect: only({ admin: 200, 'source:own': 200 }, 403),
  },
  'POST /v1/sources/{source}/reconcile': {
    request: async () => ({ path: `/v1/sources/${OWN_SOURCE}/reconcile`, body: { openExternalIds: [] } }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200, 'source:own': 200 }, 403),
  },
  'GET /v1/sources/{source}/stale-updates': {
    request: async () => ({ path: `/v1/sources/${OWN_SOURCE}/stale-updates` }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200, 'source:own': 200 }, 403),
  },
  'POST /v1/reminder-rules/preview': {
    request: async () => ({
      path: '/v1/reminder-rules/preview',
      body: { rule: { every: 'PT1H', maxCount: 2 }, count: 2 },
    }),
    expect: only({}, 200),
  },
  'POST /v1/calendars': {
    request: async () => ({ path: '/v1/calendars', body: CALENDAR }),
    expect: only({ admin: 201, manager: 201 }, 403),
  },
  'GET /v1/calendars': { request: async () => ({ path: '/v1/calendars' }), expect: only({}, 200) },
  'GET /v1/calendars/{code}': {
    request: async () => ({ path: `/v1/calendars/${CALENDAR.code}` }),
    expect: only({}, 200),
  },
  'GET /v1/audit': {
    request: async () => ({ path: '/v1/audit?limit=1' }),
    expect: only({ admin: 200, auditor: 200 }, 403),
  },
  'GET /v1/audit/verify': {
    request: async () => ({ path: '/v1/audit/verify' }),
    expect: only({ admin: 200, auditor: 200 }, 403),
  },
  'GET /v1/reports/exceptions': {
    request: async () => ({ path: '/v1/reports/exceptions?limit=1' }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  'GET /v1/reports/exceptions/daily': {
    request: async () => ({ path: '/v1/reports/exceptions/daily' }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  'GET /v1/reports/matters': {
    request: async () => ({ path: `/v1/reports/matters?source=${OWN_SOURCE}` }),
    expect: only({ admin: 200, manager: 200, reviewer: 200, auditor: 200 }, 403),
  },
  // Action links are their own credential: no bearer token of any role opens a forged one.
  'GET /a/{token}': { request: async () => ({ path: '/a/Zm9yZ2Vk.c2lnbmF0dXJl' }), expect: everyone(404) },
  'POST /a/{token}': {
    request: async () => ({ path: '/a/Zm9yZ2Vk.c2lnbmF0dXJl', body: {} }),
    expect: everyone(404),
  },
  // Vendor callbacks answer to the vendor's signature, never a bearer token; this stack sets no
  // callback secrets, so they are not there for anyone (callbacks.test.ts covers them configured).
  'POST /v1/callbacks/slack': {
    request: async () => ({ path: '/v1/callbacks/slack', body: {} }),
    expect: everyone(404),
  },
  'GET /v1/callbacks/wecom': {
    request: async () => ({ path: '/v1/callbacks/wecom' }),
    expect: everyone(404),
  },
  'POST /v1/callbacks/wecom': {
    request: async () => ({ path: '/v1/callbacks/wecom', body: {} }),
    expect: everyone(404),
  },
  'POST /v1/callbacks/feishu': {
    request: async () => ({ path: '/v1/callbacks/feishu', body: {} }),
    expect: everyone(404),
  },
  'POST /v1/callbacks/dingtalk': {
    request: async () => ({ path: '/v1/callbacks/dingtalk', body: {} }),
    expect: everyone(404),
  },
};

beforeAll(async () => {
  stack = await startStack();
  own = await createHandler(stack);
  other = await createHandler(stack);
  tokens.admin = stack.adminToken;
  tokens.manager = await issueToken(stack, 'mgr-1', 'manager');
  tokens.auditor = await issueToken(stack, 'aud-1', 'auditor');
  tokens.reviewer = await issueToken(stack, 'rev-1', 'reviewer');
  await call(stack, 'POST', '/v1/reminder-rules', {
    token: tokens.admin,
    body: { code: 'authz-seeded', rule: { every: 'PT1H' } },
  });
  tokens['source:own'] = await issueToken(stack, OWN_SOURCE, 'source');
  tokens['source:other'] = await issueToken(stack, `${OWN_SOURCE}-x`, 'source');
  tokens['handler:own'] = own.token;
  tokens['handler:other'] = other.token;
  const group = await call(stack, 'POST', '/v1/groups', {
    token: tokens.admin,
    body: { id: OWN_GROUP, name: 'Own group', members: [own.id] },
  });
  if (group.status !== 201)
    throw new Error(`creating the group: ${group.status} ${JSON.stringify(group.body)}`);
  const calendar = await call(stack, 'POST', '/v1/calendars', { token: tokens.admin, body: CALENDAR });
  if (calendar.status !== 201)
    throw new Error(`creating the calendar: ${calendar.status} ${JSON.stringify(calendar.body)}`);
});
afterAll(async () => stack?.close());

describe('authorization', () => {
  it('has a row for every route the API serves, and no row for a route it does not', async () => {
    // Every route Fastify registered, those hidden from the OpenAPI document too.
    const served = stack.app.routesServed.map((r) => r.replace(/:(\w+)/g, '{$1}'));
    expect(
      served.filter((r) => !(r in TABLE)),
      'routes without an authorization row',
    ).toEqual([]);
    expect(
      Object.keys(TABLE).filter((r) => !served.includes(r)),
      'rows for routes that do not exist',
    ).toEqual([]);
  });

  it('counts the routes hidden from the OpenAPI document, so hiding a route does not spare it a row', () => {
    const documented = (stack.app.swagger() as { paths: Record<string, unknown> }).paths;
    expect(Object.keys(documented)).not.toContain('/metrics');
    expect(stack.app.routesServed).toContain('GET /metrics');
  });

  const cases = Object.entries(TABLE).flatMap(([route, row]) =>
    CALLERS.map((caller) => ({ route, caller, row, status: row.expect[caller] })),
  );
  it.each(cases)('$route as $caller → $status', async ({ route, caller, row, status }) => {
    const [method] = route.split(' ') as [string];
    const { path, body } = await row.request(await ctx());
    if (row.web) {
      const web = await browserFor(caller, row.web.fresh);
      const answer =
        method === 'GET' ? await web.get(path) : await web.post(path, body as Record<string, string>);
      expect(answer.res.status, answer.html.slice(0, 2000)).toBe(status);
      return;
    }
    const res = await call(stack, method, path, {
      token: caller === 'anonymous' ? undefined : tokens[caller],
      ...(body !== undefined ? { body } : {}),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
  });
});
