import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let handler: { id: string; token: string };
let other: { id: string; token: string };
let sourceToken: string;
let openMatter: string;
let completedMatter: string;

const SOURCE = `crm-${randomUUID().slice(0, 8)}`;
const newHandlerId = () => `bad-${randomUUID().slice(0, 8)}`;

/** Rows this file could have touched; other files write to the same database at the same time. */
async function tableCounts() {
  const sql = stack.sql;
  const ours = sql`select id from matters where source = ${SOURCE} or handler_id in (${handler.id}, ${other.id})`;
  const [row] = await sql<Record<string, number>[]>`
    select (select count(*)::int from matters where id in (${ours})) as matters,
           (select count(*)::int from matter_events where matter_id in (${ours})) as events,
           (select count(*)::int from exception_filings where matter_id in (${ours})) as filings,
           (select count(*)::int from handlers where id like 'bad-%' or id in (${handler.id}, ${other.id})) as handlers,
           (select count(*)::int from api_tokens where subject in (${handler.id}, ${other.id}, 'ghost', ${SOURCE})) as tokens`;
  return row!;
}

beforeAll(async () => {
  stack = await startStack();
  handler = await createHandler(stack);
  other = await createHandler(stack);
  sourceToken = await issueToken(stack, SOURCE, 'source');
  const open = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: { source: SOURCE, externalId: randomUUID(), title: 'Open one', handlerId: handler.id },
  });
  openMatter = open.body.id;
  const done = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: { source: SOURCE, externalId: randomUUID(), title: 'Done one', handlerId: handler.id },
  });
  completedMatter = done.body.id;
  const completed = await call(stack, 'POST', `/v1/matters/${completedMatter}/complete`, {
    token: handler.token,
    body: {},
  });
  expect(completed.status).toBe(200);
  // Each case compares table counts before and after; the open matter's first event is written by its
  // workflow after the API answered, so wait for it rather than let it land inside a case.
  await eventually(async () => {
    const [row] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from matter_events where matter_id in (${openMatter}, ${completedMatter})`;
    return row!.n >= 3;
  }, 'the first events of both matters');
});
afterAll(async () => stack?.close());

const valid = () => ({ source: SOURCE, externalId: randomUUID(), title: 'A matter', handlerId: handler.id });

interface Case {
  name: string;
  method: string;
  path: () => string;
  token: () => string | undefined;
  body?: () => unknown;
  rawBody?: string;
  contentType?: string;
  status: number;
  code: string;
}

const cases: Case[] = [
  {
    name: 'a page cursor beyond the ids Postgres and JSON can hold',
    method: 'GET',
    path: () => `/v1/sources/${SOURCE}/stale-updates?after=1.3e227`,
    token: () => sourceToken,
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'no bearer token',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => undefined,
    body: valid,
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'an unknown bearer token',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => 'x'.repeat(40),
    body: valid,
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'a malformed Authorization header',
    method: 'GET',
    path: () => '/v1/matters',
    token: () => 'a b',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'a missing title',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), title: undefined }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a title of the wrong type',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), title: 42 }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unexpected field (mass assignment)',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), status: 'completed' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a dueAt that is not RFC 3339',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), dueAt: 'tomorrow' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unknown priority',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), priority: 'asap' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a reminder rule with a non-ISO duration',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), reminderRule: { every: '30 minutes' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a reminder rule with months',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), reminderRule: { every: 'P1M' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unknown handler',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), handlerId: 'nobody-here' }),
    status: 422,
    code: 'UNKNOWN_HANDLER',
  },
  {
    name: 'a source pushing for another source',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    body: () => ({ ...valid(), source: 'erp' }),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a handler pushing matters',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => handler.token,
    body: () => ({ ...valid() }),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'invalid JSON',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    rawBody: '{"title":',
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'an unsupported content type',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    rawBody: '<matter/>',
    contentType: 'application/xml',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'a body over the size limit',
    method: 'POST',
    path: () => '/v1/matters',
    token: () => sourceToken,
    rawBody: JSON.stringify({ ...{ title: 'x' }, details: 'y'.repeat(300 * 1024) }),
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    name: 'a matter id that is not a uuid',
    method: 'GET',
    path: () => '/v1/matters/42',
    token: () => handler.token,
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unknown matter',
    method: 'POST',
    path: () => `/v1/matters/${randomUUID()}/complete`,
    token: () => handler.token,
    body: () => ({}),
    status: 404,
    code: 'MATTER_NOT_FOUND',
  },
  {
    name: 'completing a completed matter',
    method: 'POST',
    path: () => `/v1/matters/${completedMatter}/complete`,
    token: () => handler.token,
    body: () => ({}),
    status: 409,
    code: 'MATTER_NOT_OPEN',
  },
  {
    name: 'completing someone else’s matter',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/complete`,
    token: () => other.token,
    body: () => ({}),
    status: 403,
    code: 'NOT_YOUR_MATTER',
  },
  {
    name: 'a source completing a matter',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/complete`,
    token: () => sourceToken,
    body: () => ({}),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a transfer to oneself',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/transfer`,
    token: () => handler.token,
    body: () => ({ toHandlerId: handler.id, reason: 'x' }),
    status: 422,
    code: 'TRANSFER_TO_SELF',
  },
  {
    name: 'a transfer to an unknown handler',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/transfer`,
    token: () => handler.token,
    body: () => ({ toHandlerId: 'ghost', reason: 'x' }),
    status: 422,
    code: 'UNKNOWN_HANDLER',
  },
  {
    name: 'a transfer without a reason',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/transfer`,
    token: () => handler.token,
    body: () => ({ toHandlerId: other.id }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an exception whose event type code is malformed',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/exceptions`,
    token: () => handler.token,
    body: () => ({ eventType: 'no spaces allowed', description: 'x' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an exception of an event type the catalog does not have',
    method: 'POST',
    path: () => `/v1/matters/${openMatter}/exceptions`,
    token: () => handler.token,
    body: () => ({ eventType: 'NOT_IN_CATALOG', description: 'x' }),
    status: 422,
    code: 'UNKNOWN_EVENT_TYPE',
  },
  {
    name: 'a handler with an unsupported channel type',
    method: 'POST',
    path: () => '/v1/handlers',
    token: () => stack.adminToken,
    body: () => ({
      id: newHandlerId(),
      name: 'N',
      channels: [{ type: 'pager', address: 'http://127.0.0.1/x' }],
    }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a handler with an unknown supervisor',
    method: 'POST',
    path: () => '/v1/handlers',
    token: () => stack.adminToken,
    body: () => ({ id: newHandlerId(), name: 'N', channels: [], supervisorId: 'ghost' }),
    status: 422,
    code: 'UNKNOWN_SUPERVISOR',
  },
  {
    name: 'a handler with a bad time zone',
    method: 'POST',
    path: () => '/v1/handlers',
    token: () => stack.adminToken,
    body: () => ({ id: newHandlerId(), name: 'N', channels: [], timezone: 'Mars/Olympus' }),
    status: 400,
    code: 'INVALID_TIMEZONE',
  },
  {
    name: 'a handler id that already exists',
    method: 'POST',
    path: () => '/v1/handlers',
    token: () => stack.adminToken,
    body: () => ({ id: handler.id, name: 'Dup', channels: [] }),
    status: 409,
    code: 'HANDLER_EXISTS',
  },
  {
    name: 'a non-admin issuing tokens',
    method: 'POST',
    path: () => '/v1/tokens',
    token: () => handler.token,
    body: () => ({ subject: handler.id, role: 'admin' }),
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a token for an unknown handler',
    method: 'POST',
    path: () => '/v1/tokens',
    token: () => stack.adminToken,
    body: () => ({ subject: 'ghost', role: 'handler' }),
    status: 422,
    code: 'UNKNOWN_HANDLER',
  },
  {
    name: 'a forged action link',
    method: 'POST',
    path: () => '/a/eyJmYWtlIjoxfQ.c2lnbmF0dXJl',
    token: () => undefined,
    body: () => ({}),
    status: 404,
    code: 'LINK_INVALID',
  },
  {
    name: 'a handler listing someone else’s matters',
    method: 'GET',
    path: () => `/v1/matters?handlerId=${other.id}`,
    token: () => handler.token,
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'a list with a foreign cursor',
    method: 'GET',
    path: () => '/v1/matters?cursor=bm90LWEtY3Vyc29y',
    token: () => handler.token,
    status: 400,
    code: 'INVALID_CURSOR',
  },
];

describe('bad requests', () => {
  it.each(cases)('$name → $status $code, and nothing changes', async (c) => {
    const before = await tableCounts();
    const stateBefore =
      await stack.sql`select id, status, handler_id, last_seq from matters where id in (${openMatter}, ${completedMatter}) order by id`;
    const res = await call(stack, c.method, c.path(), {
      token: c.token(),
      ...(c.rawBody !== undefined ? { rawBody: c.rawBody, contentType: c.contentType } : {}),
      ...(c.body ? { body: c.body() } : {}),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(res.body.error.code).toBe(c.code);
    expect(res.body.error.message.length).toBeGreaterThan(5);
    expect(await tableCounts()).toEqual(before);
    const stateAfter =
      await stack.sql`select id, status, handler_id, last_seq from matters where id in (${openMatter}, ${completedMatter}) order by id`;
    expect(stateAfter).toEqual(stateBefore);
  });

  it('does not leak internals on a route that does not exist', async () => {
    const res = await call(stack, 'GET', '/v1/nope', { token: handler.token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('ROUTE_NOT_FOUND');
  });
});
