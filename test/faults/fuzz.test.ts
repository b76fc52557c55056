import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFeishu, feishuSignature } from '../../src/security/inbound/feishu.js';
import { encryptWecom, wecomSignature } from '../../src/security/inbound/wecom.js';
import { routesOf } from '../support/fuzz-routes.js';
import {
  type Body,
  formBody,
  type Hints,
  hostile,
  type JsonSchema,
  jsonBody,
  pathParam,
  queryString,
} from '../support/fuzz-values.js';
import { call, eventually, startStack, type TestStack } from '../support/stack.js';
import { WebClient } from '../support/web.js';
import { sized } from './soak.js';

/**
 * Issue 9, item 7 (bad input): every route of the app, found in its own route tree, gets generated
 * params, query strings, bodies and credentials. For each case: no 5xx; a refusal (4xx) says what was
 * wrong as `{ error: { code, message } }` (a web page may answer a person in HTML instead); a refused
 * request leaves this file's rows and audit entries exactly as they were; and the API still answers its
 * health check after each route. Bodies too big get 413 and bodies of a type no parser takes get 415.
 */

const TOTAL_CASES = sized(10_000, 50_000);
const P = `fz${randomUUID().slice(0, 6)}`;
const ALICE = `${P}-alice`;
const BOB = `${P}-bob`;
const CAROL = `${P}-carol`;
const SOURCE = `${P}-src`;
const GROUP = `${P}-grp`;
const ETYPE = `${P}-etype`;
const CALENDAR = `${P}-cal`;
const RULE = `${P}-rule`;

const SLACK_SIGNING_SECRET = 'slack-signing-secret-for-fuzz';
const WECOM_CORP_ID = 'wwfuzztest';
const WECOM_AGENT_ID = '1000002';
const WECOM_TOKEN = 'wecomFuzzToken';
const WECOM_AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const FEISHU_ENCRYPT_KEY = 'feishu-encrypt-key-for-fuzz';
const FEISHU_VERIFICATION_TOKEN = 'feishu-verification-token-fuzz';
/** Nothing listens here: a vendor send fails on this machine instead of leaving it. */
const DEAD_URL = 'http://127.0.0.1:1';
/** Above every body limit of the app: 16 MiB for bulk pushes, 256 KiB elsewhere, 64 KiB for vendor callbacks. */
const OVERSIZED = 16 * 1024 * 1024 + 1;
const OVERSIZED_BODY = 'x'.repeat(OVERSIZED);

const slackIdOf = (id: string) => `U${id.replace(/[^a-z0-9]/gi, '').toUpperCase()}`;
const wecomIdOf = (id: string) => `wc.${id}`;
const feishuIdOf = (id: string) => `fs_${id.replace(/[^a-z0-9]/gi, '')}`;

// --- who calls ---------------------------------------------------------------------------------------

const PEOPLE = ['admin', 'manager', 'reviewer', 'auditor', 'alice', 'bob', 'source'] as const;
type Person = (typeof PEOPLE)[number];
/** A known caller, no credentials, a well-formed but unknown one, or a header that is not one at all. */
type Who = Person | 'none' | 'unknown' | 'garbage';

let stack: TestStack;
const tokens = {} as Record<Person, string>;
const sessions = {} as Record<Exclude<Person, 'source'> | 'leaver', { cookie: string; csrf: string }>;
const pools = {
  matter: [] as string[],
  externalId: [] as string[],
  change: [] as string[],
  filing: [] as string[],
  delegation: [] as string[],
  victimToken: [] as string[],
  link: [] as string[],
};

type Kind = 'api' | 'web' | 'link' | 'callback' | 'ops';
type Pool =
  | 'handler'
  | 'spareHandler'
  | 'matter'
  | 'group'
  | 'victimToken'
  | 'change'
  | 'filing'
  | 'source'
  | 'externalId'
  | 'delegation'
  | 'rule'
  | 'calendar'
  | 'exceptionType'
  | 'callback'
  | 'link'
  | 'tail';

interface RouteSpec {
  kind: Kind;
  /** Callers that pass the route's role check, so most cases reach its validation and logic. */
  as?: readonly (Person | 'leaver')[];
  params?: Record<string, Pool>;
  /** Form fields the page's form has (web routes). */
  form?: readonly string[];
}

const ANY = PEOPLE;
const ADMINS = ['admin'] as const;
const MANAGERS = ['admin', 'manager'] as const;
const HANDLERS = ['alice', 'bob'] as const;
const REVIEWERS = ['admin', 'reviewer'] as const;
const READERS = ['admin', 'manager', 'reviewer', 'auditor'] as const;
const SOURCES = ['source', 'admin', 'manager'] as const;
const ACTION_FIELDS = ['outcome', 'comment', 'toHandlerId', 'reason', 'eventType', 'description', 'note'];
const MATTER_FORM = [
  'source',
  'externalId',
  'title',
  'handlerId',
  'groupId',
  'details',
  'link',
  'due',
  'timeZone',
  'priority',
  'ruleTemplate',
  'ruleJson',
  'reason',
  'intent',
];

/** One entry per route of the app; a route without one fails the coverage test. */
const ROUTES: Record<string, RouteSpec> = {
  'GET /healthz': { kind: 'ops' },
  'GET /readyz': { kind: 'ops' },
  'GET /metrics': { kind: 'ops' },
  'GET /docs': { kind: 'ops' },
  'GET /docs/': { kind: 'ops' },
  'GET /docs/json': { kind: 'ops' },
  'GET /docs/yaml': { kind: 'ops' },
  'GET /docs/static/index.html': { kind: 'ops' },
  'GET /docs/static/swagger-initializer.js': { kind: 'ops' },
  'GET /docs/*': { kind: 'ops', params: { '*': 'tail' } },
  'GET /*': { kind: 'ops', params: { '*': 'tail' } },

  'POST /v1/handlers': { kind: 'api', as: MANAGERS },
  'GET /v1/handlers/{id}': { kind: 'api', as: ANY, params: { id: 'handler' } },
  'PATCH /v1/handlers/{id}': { kind: 'api', as: MANAGERS, params: { id: 'spareHandler' } },
  'POST /v1/handlers/{id}/delegations': {
    kind: 'api',
    as: [...MANAGERS, ...HANDLERS],
    params: { id: 'handler' },
  },
  'GET /v1/handlers/{id}/delegations': { kind: 'api', as: ANY, params: { id: 'handler' } },
  'DELETE /v1/handlers/{id}/delegations/{delegationId}': {
    kind: 'api',
    as: [...MANAGERS, ...HANDLERS],
    params: { id: 'handler', delegationId: 'delegation' },
  },
  'POST /v1/groups': { kind: 'api', as: MANAGERS },
  'GET /v1/groups': { kind: 'api', as: ANY },
  'GET /v1/groups/{id}': { kind: 'api', as: ANY, params: { id: 'group' } },
  'PATCH /v1/groups/{id}': { kind: 'api', as: MANAGERS, params: { id: 'group' } },
  'POST /v1/tokens': { kind: 'api', as: ADMINS },
  'GET /v1/tokens': { kind: 'api', as: ADMINS },
  'DELETE /v1/tokens/{id}': { kind: 'api', as: ADMINS, params: { id: 'victimToken' } },

  'POST /v1/matters': { kind: 'api', as: SOURCES },
  'GET /v1/matters': { kind: 'api', as: ANY },
  'GET /v1/matters/{id}': { kind: 'api', as: ANY, params: { id: 'matter' } },
  'POST /v1/matters/{id}/complete': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },
  'POST /v1/matters/{id}/claim': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },
  'POST /v1/matters/{id}/transfer': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },
  'POST /v1/matters/{id}/reject-transfer': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },
  'POST /v1/matters/{id}/release': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },
  'POST /v1/matters/{id}/exceptions': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },
  'POST /v1/matters/{id}/acknowledge': { kind: 'api', as: HANDLERS, params: { id: 'matter' } },

  'POST /v1/change-requests': { kind: 'api', as: MANAGERS },
  'GET /v1/change-requests': { kind: 'api', as: READERS },
  'GET /v1/change-requests/{id}': { kind: 'api', as: READERS, params: { id: 'change' } },
  'POST /v1/change-requests/{id}/approve': { kind: 'api', as: REVIEWERS, params: { id: 'change' } },
  'POST /v1/change-requests/{id}/reject': { kind: 'api', as: REVIEWERS, params: { id: 'change' } },

  'PUT /v1/sources/{source}/matters/{externalId}': {
    kind: 'api',
    as: SOURCES,
    params: { source: 'source', externalId: 'externalId' },
  },
  'DELETE /v1/sources/{source}/matters/{externalId}': {
    kind: 'api',
    as: SOURCES,
    params: { source: 'source', externalId: 'externalId' },
  },
  'POST /v1/sources/{source}/matters/bulk': { kind: 'api', as: SOURCES, params: { source: 'source' } },
  'POST /v1/sources/{source}/reconcile': { kind: 'api', as: SOURCES, params: { source: 'source' } },
  'GET /v1/sources/{source}/stale-updates': { kind: 'api', as: SOURCES, params: { source: 'source' } },

  'POST /v1/reminder-rules': { kind: 'api', as: MANAGERS },
  'GET /v1/reminder-rules': { kind: 'api', as: ANY },
  'POST /v1/reminder-rules/preview': { kind: 'api', as: ANY },
  'GET /v1/reminder-rules/{code}': { kind: 'api', as: ANY, params: { code: 'rule' } },
  'POST /v1/calendars': { kind: 'api', as: MANAGERS },
  'GET /v1/calendars': { kind: 'api', as: ANY },
  'GET /v1/calendars/{code}': { kind: 'api', as: ANY, params: { code: 'calendar' } },
  'POST /v1/exception-types': { kind: 'api', as: MANAGERS },
  'GET /v1/exception-types': { kind: 'api', as: ANY },
  'GET /v1/exception-types/{code}': { kind: 'api', as: ANY, params: { code: 'exceptionType' } },
  'GET /v1/exception-filings': { kind: 'api', as: ANY },
  'GET /v1/exception-filings/{id}': { kind: 'api', as: ANY, params: { id: 'filing' } },
  'POST /v1/exception-filings/{id}/acknowledge': {
    kind: 'api',
    as: [...MANAGERS, ...HANDLERS],
    params: { id: 'filing' },
  },
  'POST /v1/exception-filings/{id}/close': {
    kind: 'api',
    as: [...MANAGERS, ...HANDLERS],
    params: { id: 'filing' },
  },
  'POST /v1/source-systems': { kind: 'api', as: ADMINS },
  'GET /v1/source-systems': { kind: 'api', as: ANY },
  'GET /v1/source-systems/{code}': { kind: 'api', as: READERS, params: { code: 'source' } },
  'GET /v1/source-systems/{code}/callbacks': { kind: 'api', as: READERS, params: { code: 'source' } },
  'POST /v1/source-systems/{code}/callbacks/{id}/retry': {
    kind: 'api',
    as: ADMINS,
    params: { code: 'source', id: 'callback' },
  },
  'GET /v1/audit': { kind: 'api', as: ['admin', 'auditor'] },
  'GET /v1/audit/verify': { kind: 'api', as: ['admin', 'auditor'] },
  'GET /v1/reports/exceptions': { kind: 'api', as: READERS },
  'GET /v1/reports/exceptions/daily': { kind: 'api', as: READERS },
  'GET /v1/reports/matters': { kind: 'api', as: READERS },

  'POST /v1/callbacks/slack': { kind: 'callback' },
  'GET /v1/callbacks/wecom': { kind: 'callback' },
  'POST /v1/callbacks/wecom': { kind: 'callback' },
  'POST /v1/callbacks/feishu': { kind: 'callback' },
  'POST /v1/callbacks/dingtalk': { kind: 'callback' },

  'GET /a/{token}': { kind: 'link', params: { token: 'link' } },
  'POST /a/{token}': { kind: 'link', params: { token: 'link' }, form: ACTION_FIELDS },

  'GET /': { kind: 'web', as: ANY },
  'GET /sign-in': { kind: 'web' },
  'POST /sign-in': { kind: 'web', form: ['token', 'next'] },
  'POST /sign-out': { kind: 'web', as: ['leaver'], form: [] },
  'GET /inbox': { kind: 'web', as: HANDLERS },
  'GET /matters/{id}': { kind: 'web', as: HANDLERS, params: { id: 'matter' } },
  'POST /matters/{id}/complete': { kind: 'web', as: HANDLERS, params: { id: 'matter' }, form: ACTION_FIELDS },
  'POST /matters/{id}/claim': { kind: 'web', as: HANDLERS, params: { id: 'matter' }, form: ACTION_FIELDS },
  'POST /matters/{id}/transfer': { kind: 'web', as: HANDLERS, params: { id: 'matter' }, form: ACTION_FIELDS },
  'POST /matters/{id}/reject-transfer': {
    kind: 'web',
    as: HANDLERS,
    params: { id: 'matter' },
    form: ACTION_FIELDS,
  },
  'POST /matters/{id}/exceptions': {
    kind: 'web',
    as: HANDLERS,
    params: { id: 'matter' },
    form: ACTION_FIELDS,
  },
  'POST /matters/{id}/acknowledge': {
    kind: 'web',
    as: HANDLERS,
    params: { id: 'matter' },
    form: ACTION_FIELDS,
  },
  'GET /exceptions': { kind: 'web', as: ANY },
  'POST /exceptions/{id}/acknowledge': {
    kind: 'web',
    as: [...MANAGERS, ...HANDLERS],
    params: { id: 'filing' },
    form: ['note'],
  },
  'POST /exceptions/{id}/close': {
    kind: 'web',
    as: [...MANAGERS, ...HANDLERS],
    params: { id: 'filing' },
    form: ['note'],
  },
  'GET /console': { kind: 'web', as: READERS },
  'GET /console/matters/new': { kind: 'web', as: MANAGERS },
  'POST /console/matters/new': { kind: 'web', as: MANAGERS, form: MATTER_FORM },
  'GET /console/matters/{id}/edit': { kind: 'web', as: MANAGERS, params: { id: 'matter' } },
  'POST /console/matters/{id}/edit': {
    kind: 'web',
    as: MANAGERS,
    params: { id: 'matter' },
    form: MATTER_FORM,
  },
  'POST /console/matters/{id}/cancel': {
    kind: 'web',
    as: MANAGERS,
    params: { id: 'matter' },
    form: ['cancelReason', 'reason'],
  },
  'GET /console/reviews': { kind: 'web', as: READERS },
  'GET /console/reviews/{id}': { kind: 'web', as: READERS, params: { id: 'change' } },
  'POST /console/reviews/{id}/approve': {
    kind: 'web',
    as: REVIEWERS,
    params: { id: 'change' },
    form: ['comment'],
  },
  'POST /console/reviews/{id}/reject': {
    kind: 'web',
    as: REVIEWERS,
    params: { id: 'change' },
    form: ['comment'],
  },
  'GET /console/directory': { kind: 'web', as: READERS },
  'POST /console/directory/handlers': {
    kind: 'web',
    as: MANAGERS,
    form: ['id', 'name', 'supervisorId', 'timezone', 'locale', 'channelType', 'channelAddress'],
  },
  'GET /console/catalogs': { kind: 'web', as: READERS },
};

const ROUTE_KEYS = Object.keys(ROUTES);
const CASES_PER_ROUTE = Math.ceil(TOTAL_CASES / ROUTE_KEYS.length);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// --- values that get past lookups --------------------------------------------------------------------

const newId = fc.string({
  minLength: 1,
  maxLength: 8,
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
});
const freshId = newId.map((s) => `${P}-${s}`);

function pool(name: Pool): fc.Arbitrary<string> {
  const some = (values: string[]) => (values.length ? fc.constantFrom(...values) : freshId);
  switch (name) {
    case 'handler':
      return fc.oneof(fc.constantFrom(ALICE, BOB, CAROL), freshId);
    case 'spareHandler':
      return fc.oneof({ arbitrary: fc.constant(CAROL), weight: 3 }, { arbitrary: freshId, weight: 1 });
    case 'matter':
      return fc.oneof({ arbitrary: some(pools.matter), weight: 4 }, { arbitrary: fc.uuid(), weight: 1 });
    case 'group':
      return fc.oneof(fc.constant(GROUP), freshId);
    case 'victimToken':
      return fc.oneof(some(pools.victimToken), fc.uuid());
    case 'change':
      return fc.oneof({ arbitrary: some(pools.change), weight: 3 }, { arbitrary: fc.uuid(), weight: 1 });
    case 'filing':
      return fc.oneof({ arbitrary: some(pools.filing), weight: 3 }, { arbitrary: fc.uuid(), weight: 1 });
    case 'source':
      return fc.oneof({ arbitrary: fc.constant(SOURCE), weight: 4 }, { arbitrary: freshId, weight: 1 });
    case 'externalId':
      return fc.oneof(some(pools.externalId), freshId);
    case 'delegation':
      return fc.oneof(some(pools.delegation), fc.uuid());
    case 'rule':
      return fc.oneof(fc.constant(RULE), freshId);
    case 'calendar':
      return fc.oneof(fc.constant(CALENDAR), freshId);
    case 'exceptionType':
      return fc.oneof(fc.constant(ETYPE), freshId);
    case 'callback':
      return fc.oneof(fc.nat().map(String), fc.uuid());
    case 'link':
      return fc.oneof(
        { arbitrary: some(pools.link), weight: 2 },
        // A real link with one character changed: the signature must catch it.
        {
          arbitrary: fc
            .tuple(some(pools.link), fc.nat(), fc.constantFrom('A', 'b', '_', '-', '.'))
            .map(([t, i, c]) => `${t.slice(0, i % t.length)}${c}${t.slice((i % t.length) + 1)}`),
          weight: 3,
        },
        { arbitrary: fc.base64String({ maxLength: 200 }), weight: 1 },
      );
    case 'tail':
      return fc
        .array(fc.oneof(fc.webSegment(), fc.constantFrom('..', '%2e%2e', 'index.html', '.env', '%00')), {
          maxLength: 4,
        })
        .map((parts) => parts.join('/'));
  }
}

/** One real value of a pool, for requests that must get as far as reading their body. */
function fixtureFor(name: Pool | undefined): string {
  const first: Partial<Record<Pool, string | undefined>> = {
    handler: ALICE,
    spareHandler: CAROL,
    matter: pools.matter[0],
    group: GROUP,
    change: pools.change[0],
    filing: pools.filing[0],
    source: SOURCE,
    externalId: pools.externalId[0],
    delegation: pools.delegation[0],
    rule: RULE,
    calendar: CALENDAR,
    exceptionType: ETYPE,
    link: pools.link[0],
  };
  return encodeURIComponent((name && first[name]) || 'x');
}

/** Body, query and form fields by name: the fixtures they should often name. */
const hints: Hints = (name) => {
  switch (name) {
    case 'handlerId':
    case 'toHandlerId':
    case 'delegateId':
    case 'supervisorId':
    case 'handler':
    case 'members':
      return pool('handler');
    case 'subject':
      return fc.oneof(pool('handler'), pool('source'));
    case 'groupId':
    case 'group':
      return pool('group');
    case 'source':
      return pool('source');
    case 'eventType':
    case 'type':
      return pool('exceptionType');
    case 'calendar':
      return pool('calendar');
    case 'matterId':
      return pool('matter');
    case 'externalId':
      return pool('externalId');
    case 'id':
    case 'code':
      return freshId;
    case 'token':
      return fc.constantFrom(...Object.values(tokens));
    case 'next':
      return fc.constantFrom('/inbox', '//evil.example', '/\\evil', 'https://evil.example', '/console');
    default:
      return undefined;
  }
};

// --- requests ----------------------------------------------------------------------------------------

interface Case {
  who: Who | 'leaver';
  path: string;
  query: string;
  body: Body | { kind: 'form'; text: string; csrf: 'valid' | 'random' | 'none' };
  accept: string;
  signed: boolean;
  /** The Authorization header a 'garbage' caller sends. */
  badHeader: string;
}

const BAD_HEADERS = [
  'Bearer x y',
  'Bearer',
  'Bearer ',
  'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
  `bearer ${'a'.repeat(20)}`,
  `Bearer ${'a'.repeat(600)}`,
  `Bearer ${'a'.repeat(15)}`,
  'Bearer ../../../../etc/passwd',
  `Bearer ${'='.repeat(40)}`,
];

interface OpenApiOperation {
  parameters?: { in: string; name: string; required?: boolean; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}
let openapi: { paths: Record<string, Record<string, OpenApiOperation>> };

function whoFor(spec: RouteSpec): fc.Arbitrary<Case['who']> {
  const preferred = spec.as && spec.as.length > 0 ? spec.as : PEOPLE;
  return fc.oneof(
    { arbitrary: fc.constantFrom(...preferred), weight: 7 },
    { arbitrary: fc.constantFrom(...PEOPLE), weight: 1 },
    { arbitrary: fc.constantFrom<Who>('none', 'unknown', 'garbage'), weight: 2 },
  );
}

function caseFor(key: string): fc.Arbitrary<Case> {
  const spec = ROUTES[key]!;
  const [method, template] = key.split(' ') as [string, string];
  const operation = openapi.paths[template]?.[method.toLowerCase()];
  const pathParams = Object.fromEntries(
    (operation?.parameters ?? []).filter((p) => p.in === 'path').map((p) => [p.name, p.schema]),
  );
  const names = [...template.matchAll(/\{([^}]+)\}|\*/g)].map((m) => m[1] ?? '*');
  const path = fc
    .tuple(
      ...names.map((n) =>
        n === '*'
          ? pool('tail')
          : pathParam(pathParams[n], spec.params?.[n] ? pool(spec.params[n]!) : undefined),
      ),
    )
    .map((values) => {
      let i = 0;
      return template.replace(/\{[^}]+\}|\*/g, () => values[i++] ?? '');
    });
  const query = queryString(
    (operation?.parameters ?? [])
      .filter((p) => p.in === 'query')
      .map((p) => ({ name: p.name, schema: p.schema, required: p.required })),
    hints,
  );
  const schema = operation?.requestBody?.content['application/json']?.schema;
  let body: fc.Arbitrary<Case['body']> = fc.constant({ kind: 'none' as const });
  if (spec.form) {
    const form = fc.record({
      kind: fc.constant('form' as const),
      text: formBody(spec.form.length ? spec.form : ['x'], hints),
      csrf: fc.constantFrom('valid', 'valid', 'valid', 'valid', 'random', 'none') as fc.Arbitrary<
        'valid' | 'random' | 'none'
      >,
    });
    body = fc.oneof({ arbitrary: form, weight: 5 }, { arbitrary: jsonBody(undefined, hints), weight: 1 });
  } else if (WRITES.has(method) && spec.kind !== 'callback') body = jsonBody(schema, hints);
  else if (spec.kind === 'callback' && method === 'POST') body = callbackBody(template);
  return fc.record({
    who: spec.kind === 'callback' ? fc.constant<Case['who']>('none') : whoFor(spec),
    path,
    query: template === '/v1/callbacks/wecom' ? fc.constant('') : query,
    body,
    accept: fc.constantFrom(
      'application/json',
      'text/html',
      '*/*',
      'text/html,application/json;q=0.9',
      'x/y',
    ),
    signed: fc.boolean(),
    badHeader: fc.constantFrom(...BAD_HEADERS),
  });
}

/** Vendor payloads: JSON-ish or XML-ish text, fuzzed; half of them get signed (and encrypted) as the vendor would. */
function callbackBody(template: string): fc.Arbitrary<Body> {
  const matterish = fc.oneof(pool('matter'), fc.string({ maxLength: 40 }));
  const text = hostile.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')));
  if (template.endsWith('slack')) {
    const payload = fc.oneof(
      fc
        .record({
          type: fc.oneof(fc.constant('block_actions'), text),
          user: fc.oneof(
            fc.record({ id: fc.oneof(fc.constantFrom(slackIdOf(ALICE), slackIdOf(BOB), 'U0'), text) }),
            hostile,
          ),
          actions: fc.oneof(
            fc.array(
              fc.record({
                action_id: fc.oneof(fc.constantFrom('complete', 'open'), text),
                value: matterish,
              }),
              { maxLength: 2 },
            ),
            hostile,
          ),
        })
        .map((p) => JSON.stringify(p)),
      text,
    );
    return payload.map((p) => ({
      kind: 'raw' as const,
      text: new URLSearchParams({ payload: p }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    }));
  }
  if (template.endsWith('feishu')) {
    return fc
      .oneof(
        fc
          .record({
            schema: fc.constant('2.0'),
            header: fc.record({
              event_id: fc.uuid(),
              token: fc.constantFrom(FEISHU_VERIFICATION_TOKEN, 'wrong'),
              create_time: fc.constantFrom(String(Date.now()), '0', 'x'),
              event_type: fc.constantFrom('card.action.trigger', 'url_verification'),
            }),
            event: fc.oneof(
              fc.record({
                operator: fc.record({
                  user_id: fc.oneof(fc.constantFrom(feishuIdOf(ALICE), 'nobody'), text),
                  open_id: text,
                }),
                action: fc.record({
                  value: fc.oneof(fc.record({ action: text, matterId: matterish }), hostile),
                }),
              }),
              hostile,
            ),
          })
          .map((p) => JSON.stringify(p)),
        text,
      )
      .map((p) => ({ kind: 'raw' as const, text: p, contentType: 'application/json' }));
  }
  const xmlText = fc.oneof(fc.string({ maxLength: 30 }), text, fc.constantFrom(']]>', '<![CDATA[', '&xxe;'));
  return fc
    .record({
      from: fc.oneof(fc.constant(wecomIdOf(ALICE)), xmlText),
      msgType: fc.constantFrom('event', 'text'),
      event: fc.constantFrom('template_card_event', 'click'),
      key: fc.oneof(
        pool('link').map((t) => `complete|/a/${t}`),
        xmlText,
      ),
      extra: fc.oneof(
        fc.constant(''),
        xmlText,
        fc.constant('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
      ),
    })
    .map(
      (f) =>
        `${f.extra}<xml><ToUserName><![CDATA[${WECOM_CORP_ID}]]></ToUserName><FromUserName><![CDATA[${f.from}]]></FromUserName><MsgType><![CDATA[${f.msgType}]]></MsgType><Event><![CDATA[${f.event}]]></Event><EventKey><![CDATA[${f.key}]]></EventKey><AgentID>${WECOM_AGENT_ID}</AgentID></xml>`,
    )
    .map((x) => ({ kind: 'raw' as const, text: x, contentType: 'text/xml' }));
}

const nowS = () => String(Math.floor(Date.now() / 1000));

/** What the vendor would send: Slack signs the body; WeCom encrypts it and signs the query; Feishu both. */
function vendorRequest(template: string, method: string, c: Case): Partial<InjectOptions> {
  const raw = c.body.kind === 'raw' ? c.body.text : '';
  if (template.endsWith('slack')) {
    const ts = nowS();
    const signature = createHmac('sha256', SLACK_SIGNING_SECRET).update(`v0:${ts}:${raw}`).digest('hex');
    return {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(c.signed ? { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${signature}` } : {}),
      },
      payload: raw,
    };
  }
  if (template.endsWith('feishu')) {
    const body = c.signed ? JSON.stringify({ encrypt: encryptFeishu(FEISHU_ENCRYPT_KEY, raw) }) : raw;
    const ts = nowS();
    const nonce = randomUUID();
    return {
      headers: {
        'content-type': 'application/json',
        ...(c.signed
          ? {
              'x-lark-request-timestamp': ts,
              'x-lark-request-nonce': nonce,
              'x-lark-signature': feishuSignature(ts, nonce, FEISHU_ENCRYPT_KEY, body),
            }
          : {}),
      },
      payload: body,
    };
  }
  const encrypted = encryptWecom(WECOM_AES_KEY, method === 'GET' ? randomUUID() : raw, WECOM_CORP_ID);
  const ts = nowS();
  const nonce = randomUUID().slice(0, 10);
  const query = new URLSearchParams({
    msg_signature: c.signed ? wecomSignature(WECOM_TOKEN, ts, nonce, encrypted) : 'f'.repeat(40),
    timestamp: ts,
    nonce,
    ...(method === 'GET' ? { echostr: encrypted } : {}),
  });
  const envelope = c.signed
    ? `<xml><ToUserName><![CDATA[${WECOM_CORP_ID}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`
    : raw;
  return {
    url: `${template}?${query}`,
    headers: { 'content-type': 'text/xml' },
    ...(method === 'POST' ? { payload: envelope } : {}),
  };
}

function credentials(spec: RouteSpec, who: Case['who'], badHeader = BAD_HEADERS[0]!): Record<string, string> {
  if (who === 'none') return {};
  if (spec.kind === 'web' || spec.kind === 'link') {
    if (who === 'unknown') return { cookie: `mf_session=${randomUUID()}` };
    if (who === 'garbage') return { cookie: 'mf_session=%zz; mf_csrf=' };
    if (who === 'source') return { authorization: `Bearer ${tokens.source}` };
    return { cookie: sessions[who].cookie };
  }
  if (who === 'unknown') return { authorization: `Bearer ${randomUUID()}${randomUUID()}` };
  if (who === 'garbage') return { authorization: badHeader };
  if (who === 'leaver') return {};
  return { authorization: `Bearer ${tokens[who]}` };
}

function request(key: string, c: Case): InjectOptions {
  const spec = ROUTES[key]!;
  const [method, template] = key.split(' ') as [InjectOptions['method'], string];
  if (spec.kind === 'callback') return { method, url: template, ...vendorRequest(template, method!, c) };
  const headers: Record<string, string> = { accept: c.accept, ...credentials(spec, c.who, c.badHeader) };
  const options: InjectOptions = { method, url: `${c.path}${c.query}`, headers };
  const b = c.body;
  if (b.kind === 'json') {
    headers['content-type'] = b.contentType;
    options.payload = JSON.stringify(b.value) ?? 'null';
  } else if (b.kind === 'raw') {
    if (b.contentType) headers['content-type'] = b.contentType;
    options.payload = b.text;
  } else if (b.kind === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const session = c.who in sessions ? sessions[c.who as keyof typeof sessions] : null;
    const csrf = b.csrf === 'valid' && session ? session.csrf : b.csrf === 'none' ? null : randomUUID();
    options.payload =
      csrf === null ? b.text : [`_csrf=${encodeURIComponent(csrf)}`, b.text].filter(Boolean).join('&');
  }
  return options;
}

/** A refusal says what was wrong: the API's error shape, or (to a person) an HTML page. */
function checkAnswer(key: string, res: LightMyRequestResponse): void {
  const where = `${key} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  if (res.statusCode < 400) return;
  const type = String(res.headers['content-type'] ?? '');
  const kind = ROUTES[key]!.kind;
  // A wildcard's random path may land on a page, whose refusals are for people.
  if (type.startsWith('text/html') && (kind === 'web' || kind === 'link' || key.endsWith('*'))) {
    expect(res.body, where).toMatch(/^<!doctype html>/i);
    return;
  }
  expect(type, where).toMatch(/^application\/json/);
  const error = (res.json() as { error?: { code?: unknown; message?: unknown } }).error;
  expect(typeof error?.code === 'string' && error.code.length > 0, where).toBe(true);
  expect(typeof error?.message === 'string' && error.message.length > 0, where).toBe(true);
}

// --- the state a refusal must leave as it was ----------------------------------------------------------

/**
 * This file's rows (all named under P) and audit entries, hashed. Matter events, filings and used links
 * are those of the fixture matters only: matters the fuzz creates run on, and their notices and reminders
 * land whenever their workflows get there.
 */
async function fingerprint(): Promise<string> {
  const like = `${P}%`;
  const text = `%${P}%`;
  const mine = pools.matter;
  const [row] = await stack.sql<{ fp: string }[]>`
    select md5(concat_ws('|',
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from handlers t where t.id like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from handler_channels t where t.handler_id like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(concat_ws(',', t.id, t.role, t.revoked_at, t.expires_at))), 0)
        from api_tokens t where t.subject like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from handler_groups t where t.id like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from group_members t
        where t.group_id like ${like} or t.handler_id like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from delegations t
        where t.handler_id like ${like} or t.delegate_id like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from source_systems t where t.code like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from exception_types t where t.code like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from exception_type_subscribers t
        where t.code like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from reminder_rule_templates t where t.code like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from business_calendars t where t.code like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from change_requests t
        where t.maker_id like ${like} or t.source like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(concat_ws(',', t.id, t.external_id))), 0) from matters t
        where t.source like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(concat_ws(',', t.matter_id, t.seq, t.type))), 0)
        from matter_events t where t.matter_id = any(${mine}::uuid[]) and t.actor_id like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) from exception_filings t
        where t.matter_id = any(${mine}::uuid[])),
      (select count(*) from action_links t where t.matter_id = any(${mine}::uuid[]) and t.used_at is not null),
      (select count(*) from source_stale_updates t where t.source like ${like}),
      (select count(*) || ':' || coalesce(sum(hashtext(concat_ws(',', t.id_hash, t.revoked_at))), 0)
        from web_sessions t where t.subject like ${like}),
      (select count(*) || ':' || coalesce(max(t.id), 0) from audit_log t
        where (t.actor_id like ${like} or t.subject like ${text})
          and (t.entity_type <> 'matter' or t.entity_id = any(${mine}::text[])))
    )) as fp`;
  return row!.fp;
}

// --- fixtures ------------------------------------------------------------------------------------------

async function ok(res: Promise<{ status: number; body: any }>, what: string): Promise<any> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function issue(subject: string, role: string): Promise<string> {
  return (
    await ok(call(stack, 'POST', '/v1/tokens', { token: stack.adminToken, body: { subject, role } }), subject)
  ).token;
}

async function handler(id: string): Promise<void> {
  await ok(
    call(stack, 'POST', '/v1/handlers', {
      token: stack.adminToken,
      body: {
        id,
        name: `Handler ${id}`,
        locale: 'en',
        channels: [
          { type: 'webhook', address: stack.receiver.addressFor(id) },
          { type: 'slack', address: slackIdOf(id) },
          { type: 'wecom', address: wecomIdOf(id) },
          { type: 'feishu', address: feishuIdOf(id) },
        ],
      },
    }),
    `handler ${id}`,
  );
}

async function session(token: string): Promise<{ cookie: string; csrf: string }> {
  const client = new WebClient(stack.baseUrl);
  await client.signIn(token);
  return {
    cookie: `mf_session=${client.cookie('mf_session')}; mf_csrf=${client.cookie('mf_csrf')}`,
    csrf: client.csrf(),
  };
}

async function matterFor(handlerId: string): Promise<string> {
  const externalId = `${P}-m-${randomUUID().slice(0, 8)}`;
  const body = await ok(
    call(stack, 'POST', '/v1/matters', {
      token: tokens.source,
      body: { source: SOURCE, externalId, title: `Fuzz target ${externalId}`, handlerId },
    }),
    'matter',
  );
  pools.externalId.push(externalId);
  return body.id;
}

/** Each fixture matter has its events and first notice recorded: nothing of theirs is still on its way. */
async function settled(): Promise<boolean> {
  const [row] = await stack.sql<{ behind: number }[]>`
    select count(*)::int as behind from matters m
    where m.id = any(${pools.matter}::uuid[]) and (m.last_seq = 0
      or m.last_seq <> (select coalesce(max(seq), 0) from matter_events e where e.matter_id = m.id)
      or not exists (select 1 from notifications n where n.matter_id = m.id and n.seq = 1 and n.status <> 'pending'))`;
  return row!.behind === 0;
}

beforeAll(async () => {
  stack = await startStack({
    env: {
      SLACK_BOT_TOKEN: 'xoxb-fuzz',
      SLACK_BASE_URL: DEAD_URL,
      WECOM_CORP_ID,
      WECOM_APP_SECRET: 'wecom-app-secret',
      WECOM_AGENT_ID,
      WECOM_BASE_URL: DEAD_URL,
      FEISHU_APP_ID: 'cli_fuzz',
      FEISHU_APP_SECRET: 'feishu-app-secret',
      FEISHU_BASE_URL: DEAD_URL,
      SLACK_SIGNING_SECRET,
      WECOM_CALLBACK_TOKEN: WECOM_TOKEN,
      WECOM_ENCODING_AES_KEY: WECOM_AES_KEY,
      FEISHU_ENCRYPT_KEY,
      FEISHU_VERIFICATION_TOKEN,
    },
  });
  openapi = stack.app.swagger() as typeof openapi;
  await Promise.all([handler(ALICE), handler(BOB), handler(CAROL)]);
  await ok(
    call(stack, 'POST', '/v1/source-systems', {
      token: stack.adminToken,
      body: { code: SOURCE, name: `Source ${SOURCE}`, trusted: true },
    }),
    'source',
  );
  [tokens.admin, tokens.manager, tokens.reviewer, tokens.auditor, tokens.alice, tokens.bob, tokens.source] =
    await Promise.all([
      issue(`${P}-admin`, 'admin'),
      issue(`${P}-mgr`, 'manager'),
      issue(`${P}-rev`, 'reviewer'),
      issue(`${P}-aud`, 'auditor'),
      issue(ALICE, 'handler'),
      issue(BOB, 'handler'),
      issue(SOURCE, 'source'),
    ]);
  await Promise.all([
    issue(`${P}-victim`, 'auditor'),
    issue(`${P}-victim`, 'auditor'),
    issue(`${P}-victim`, 'manager'),
  ]);
  pools.victimToken = (
    await stack.sql<{ id: string }[]>`select id::text from api_tokens where subject = ${`${P}-victim`}`
  ).map((r) => r.id);
  const admin = tokens.admin;
  await ok(
    call(stack, 'POST', '/v1/groups', {
      token: admin,
      body: { id: GROUP, name: 'Fuzz group', members: [ALICE, BOB] },
    }),
    'group',
  );
  await ok(
    call(stack, 'POST', '/v1/exception-types', {
      token: admin,
      body: {
        code: ETYPE,
        names: { 'zh-CN': '模糊', en: 'Fuzz' },
        severity: 'low',
        fieldsSchema: { type: 'object' },
      },
    }),
    'exception type',
  );
  await ok(
    call(stack, 'POST', '/v1/calendars', {
      token: admin,
      body: {
        code: CALENDAR,
        name: 'Fuzz calendar',
        timeZone: 'Asia/Shanghai',
        workingDays: [1, 2, 3, 4, 5],
        workingHours: [{ start: '09:00', end: '17:00' }],
      },
    }),
    'calendar',
  );
  await ok(
    call(stack, 'POST', '/v1/reminder-rules', { token: admin, body: { code: RULE, rule: { every: 'P1D' } } }),
    'rule',
  );
  pools.matter = await Promise.all([ALICE, ALICE, ALICE, ALICE, ALICE, ALICE, BOB, BOB].map(matterFor));
  const grouped = await ok(
    call(stack, 'POST', '/v1/matters', {
      token: tokens.source,
      body: { source: SOURCE, externalId: `${P}-grouped`, title: 'Offered to the group', groupId: GROUP },
    }),
    'group matter',
  );
  pools.matter.push(grouped.id);
  pools.externalId.push(`${P}-grouped`);
  await ok(
    call(stack, 'POST', `/v1/matters/${pools.matter[0]}/exceptions`, {
      token: tokens.alice,
      body: { eventType: ETYPE, description: 'filed before the fuzz' },
    }),
    'filing',
  );
  pools.filing = (
    await stack.sql<
      { id: string }[]
    >`select id::text from exception_filings where matter_id = ${pools.matter[0]!}`
  ).map((r) => r.id);
  const delegation = await ok(
    call(stack, 'POST', `/v1/handlers/${ALICE}/delegations`, {
      token: tokens.alice,
      body: {
        delegateId: BOB,
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        endsAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
      },
    }),
    'delegation',
  );
  pools.delegation = [delegation.id];
  for (const externalId of ['change-a', 'change-b']) {
    const change = await ok(
      call(stack, 'POST', '/v1/change-requests', {
        token: tokens.manager,
        body: {
          kind: 'add',
          matter: { source: SOURCE, externalId: `${P}-${externalId}`, title: 'Proposed', handlerId: ALICE },
          reason: 'for the fuzz',
        },
      }),
      'change request',
    );
    pools.change.push(change.id);
  }
  const notices = await eventually(async () => {
    const found = stack.receiver.received.filter(
      (h) => h.path.endsWith(`/${ALICE}`) && h.body.actions?.length,
    );
    return found.length >= 3 && found;
  }, 'the fixture matters’ notices to alice');
  pools.link = notices.flatMap((n) =>
    n.body.actions.map((a: { url: string }) => a.url.slice(a.url.lastIndexOf('/a/') + 3)),
  );
  const [adminS, managerS, reviewerS, auditorS, aliceS, bobS, leaverS] = await Promise.all(
    [tokens.admin, tokens.manager, tokens.reviewer, tokens.auditor, tokens.alice, tokens.bob, tokens.bob].map(
      session,
    ),
  );
  Object.assign(sessions, {
    admin: adminS,
    manager: managerS,
    reviewer: reviewerS,
    auditor: auditorS,
    alice: aliceS,
    bob: bobS,
    leaver: leaverS,
  });
  await eventually(settled, 'the fixture matters to settle', 30_000);
});

/** Answers by status, per route: what the fuzz reached (printed at the end for the record). */
const tally: Record<string, Record<number, number>> = {};

afterAll(async () => {
  const totals: Record<number, number> = {};
  for (const byStatus of Object.values(tally))
    for (const [status, n] of Object.entries(byStatus))
      totals[Number(status)] = (totals[Number(status)] ?? 0) + n;
  console.info(`fuzz: ${Object.keys(tally).length} routes, answers by status ${JSON.stringify(totals)}`);
  await stack?.close();
});

// --- the tests -----------------------------------------------------------------------------------------

describe('fuzzing every route with bad input', () => {
  it('has a fuzz generator for every route the app serves, and none for a route it does not', () => {
    const served = routesOf(stack.app);
    expect(
      served.filter((r) => !(r in ROUTES)),
      'routes without a fuzz generator',
    ).toEqual([]);
    expect(
      ROUTE_KEYS.filter((r) => !served.includes(r)),
      'generators for routes that are gone',
    ).toEqual([]);
  });

  it('notices a write in its fingerprint, so an unchanged one means nothing was written', async () => {
    const before = await fingerprint();
    const id = `${P}-probe`;
    await ok(
      call(stack, 'POST', '/v1/groups', {
        token: tokens.admin,
        body: { id, name: 'Probe', members: [ALICE] },
      }),
      'probe group',
    );
    expect(await fingerprint()).not.toBe(before);
  });

  it.each(ROUTE_KEYS)(
    '%s: no 5xx, every refusal explained, nothing written by a refused request',
    async (key) => {
      const [method, template] = key.split(' ') as [string, string];
      let before = await fingerprint();
      // First, while no rate limit is used up: a body too big, and a body of a type nobody parses.
      if (WRITES.has(method)) await refusesBadBodies(key, method, template);
      expect(await fingerprint(), `${key}: a 413/415 wrote something`).toBe(before);
      const statuses: Record<number, number> = {};
      tally[key] = statuses;
      await fc.assert(
        fc.asyncProperty(caseFor(key), async (c) => {
          const res = await stack.app.inject(request(key, c));
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          checkAnswer(key, res);
          if (!WRITES.has(method)) return;
          const after = await fingerprint();
          if (res.statusCode >= 400) expect(after, `${key} → ${res.statusCode} wrote something`).toBe(before);
          before = after;
        }),
        { numRuns: CASES_PER_ROUTE, endOnFailure: true },
      );
      // A GET never writes, refused or not; a write route's last case is already compared.
      if (!WRITES.has(method)) expect(await fingerprint(), `${key} wrote something`).toBe(before);
      const health = await fetch(`${stack.baseUrl}/healthz`);
      expect(health.status, `the API after fuzzing ${key}`).toBe(200);
    },
  );
});

async function refusesBadBodies(key: string, method: string, template: string): Promise<void> {
  const spec = ROUTES[key]!;
  const url = template.replace(/\{([^}]+)\}/g, (_, name: string) => fixtureFor(spec.params?.[name]));
  const as = (method as InjectOptions['method'])!;
  // As a caller the route admits: a route may turn strangers away before it reads any body.
  const who = credentials(spec, spec.as?.[0] ?? 'none');
  const big = await stack.app.inject({
    method: as,
    url,
    headers: { ...who, 'content-type': spec.form ? 'application/x-www-form-urlencoded' : 'application/json' },
    payload: OVERSIZED_BODY,
  });
  expect(big.statusCode, `${key} with a ${OVERSIZED}-byte body`).toBe(413);
  checkAnswer(key, big);
  const odd = await stack.app.inject({
    method: as,
    url,
    headers: { ...who, 'content-type': 'application/x-fuzz-unknown' },
    payload: 'a=1',
  });
  // Vendor callbacks take any type on purpose: the signature over the raw bytes decides.
  if (spec.kind === 'callback') expect(odd.statusCode).toBeGreaterThanOrEqual(400);
  else expect(odd.statusCode, `${key} with an unknown content type`).toBe(415);
  checkAnswer(key, odd);
}
