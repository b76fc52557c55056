import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let manager: string;
let auditor: string;
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  manager = await issueToken(stack, 'mgr-catalogs', 'manager');
  auditor = await issueToken(stack, 'aud-catalogs', 'auditor');
});
afterAll(async () => stack?.close());

const exceptionType = (code: string, extra: Record<string, unknown> = {}) => ({
  code,
  names: { 'zh-CN': '逾期', en: 'Overdue' },
  severity: 'high',
  fieldsSchema: { type: 'object', required: ['days'], properties: { days: { type: 'integer' } } },
  ...extra,
});
const saveType = (body: unknown, token = manager) =>
  call(stack, 'POST', '/v1/exception-types', { token, body });
const saveSource = (body: unknown, token = stack.adminToken) =>
  call(stack, 'POST', '/v1/source-systems', { token, body });
const codes = (items: { code: string }[]) => items.map((i) => i.code);
const auditTrail = async (entityType: string, entityId: string) =>
  (
    await call(stack, 'GET', `/v1/audit?entityType=${entityType}&entityId=${encodeURIComponent(entityId)}`, {
      token: auditor,
    })
  ).body.items;

describe('exception event types', () => {
  it('saves each change as the next version and keeps the older ones readable', async () => {
    const code = unique('overdue');
    const v1 = await saveType(exceptionType(code, { description: 'first cut' }));
    expect(v1.status, JSON.stringify(v1.body)).toBe(201);
    expect(v1.body).toMatchObject({
      code,
      version: 1,
      severity: 'high',
      subscribers: [],
      active: true,
      description: 'first cut',
      createdBy: 'mgr-catalogs',
    });
    const v2 = await saveType(exceptionType(code, { severity: 'critical', active: false }));
    expect(v2.body).toMatchObject({ version: 2, severity: 'critical', active: false, description: null });

    const history = await call(stack, 'GET', `/v1/exception-types/${code}`, { token: manager });
    expect(history.body.items).toMatchObject([
      { version: 2, severity: 'critical', active: false },
      { version: 1, severity: 'high', active: true, fieldsSchema: { required: ['days'] } },
    ]);
  });

  it('lists only the latest version of each type, to any authenticated caller', async () => {
    const code = unique('latest');
    await saveType(exceptionType(code));
    await saveType(exceptionType(code, { severity: 'low' }));
    const handler = await createHandler(stack);
    const list = await call(stack, 'GET', '/v1/exception-types', { token: handler.token });
    expect(list.status).toBe(200);
    expect(list.body.items.filter((t: { code: string }) => t.code === code)).toMatchObject([
      { version: 2, severity: 'low' },
    ]);
    expect(new Set(codes(list.body.items)).size).toBe(list.body.items.length);
  });

  it('comes with OTHER, BLOCKED and DATA_MISMATCH, fileable on a fresh install', async () => {
    const list = await call(stack, 'GET', '/v1/exception-types', { token: manager });
    expect(codes(list.body.items)).toEqual(expect.arrayContaining(['OTHER', 'BLOCKED', 'DATA_MISMATCH']));
    const first = async (code: string) =>
      (await call(stack, 'GET', `/v1/exception-types/${code}`, { token: manager })).body.items.at(-1);
    expect(await first('OTHER')).toMatchObject({
      version: 1,
      names: { 'zh-CN': '其他', en: 'Other' },
      severity: 'low',
      fieldsSchema: { type: 'object' },
      subscribers: [],
      active: true,
      createdBy: 'system',
    });
    expect(await first('BLOCKED')).toMatchObject({
      names: { 'zh-CN': '受阻', en: 'Blocked' },
      severity: 'medium',
    });
    expect(await first('DATA_MISMATCH')).toMatchObject({
      names: { 'zh-CN': '数据不符', en: 'Data mismatch' },
      severity: 'medium',
    });
  });

  it('keeps handler and group subscribers in the order given', async () => {
    const handler = await createHandler(stack);
    const group = unique('grp');
    await stack.sql`insert into handler_groups (id, name, created_by) values (${group}, 'Risk desk', 'test')`;
    const subscribers = [
      { kind: 'group', id: group },
      { kind: 'handler', id: handler.id },
    ];
    const code = unique('shared');
    const saved = await saveType(exceptionType(code, { subscribers }));
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    expect(saved.body.subscribers).toEqual(subscribers);
    const read = await call(stack, 'GET', `/v1/exception-types/${code}`, { token: manager });
    expect(read.body.items[0].subscribers).toEqual(subscribers);
  });

  it('refuses, with 422 naming it, a subscriber that does not exist, and saves nothing', async () => {
    const handler = await createHandler(stack);
    const code = unique('orphan');
    const res = await saveType(
      exceptionType(code, {
        subscribers: [
          { kind: 'handler', id: handler.id },
          { kind: 'group', id: handler.id },
          { kind: 'handler', id: 'nobody-here' },
        ],
      }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('UNKNOWN_SUBSCRIBER');
    expect(res.body.error.message).toContain(`group "${handler.id}"`);
    expect(res.body.error.message).toContain('handler "nobody-here"');
    expect(res.body.error.message).not.toContain(`handler "${handler.id}"`);
    expect((await call(stack, 'GET', `/v1/exception-types/${code}`, { token: manager })).status).toBe(404);
  });

  it.each([
    [
      'a schema Ajv cannot compile',
      { fieldsSchema: { type: 'object', properties: { a: { type: 'money' } } } },
    ],
    ['a schema that is not of type object', { fieldsSchema: { type: 'string' } }],
    [
      'a schema referring to a remote URL',
      { fieldsSchema: { type: 'object', properties: { a: { $ref: 'https://evil.example/s.json' } } } },
    ],
    ['a schema over 32 KiB', { fieldsSchema: { type: 'object', description: 'x'.repeat(33 * 1024) } }],
  ])('refuses %s with 400 INVALID_FIELDS_SCHEMA and the reason', async (_, extra) => {
    const res = await saveType(exceptionType(unique('bad'), extra));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_FIELDS_SCHEMA');
    expect(res.body.error.message).toMatch(
      /fieldsSchema (does not compile|must have type|may only refer|is \d+)/,
    );
    expect(res.body.error.details).toEqual([{ field: 'body.fieldsSchema' }]);
  });

  it('names the remote URL it refuses to follow', async () => {
    const res = await saveType(
      exceptionType(unique('remote'), {
        fieldsSchema: { type: 'object', properties: { a: { $ref: 'https://evil.example/s.json' } } },
      }),
    );
    expect(res.body.error.message).toContain('https://evil.example/s.json');
  });

  it.each([
    ['a missing English name', { names: { 'zh-CN': '逾期' } }, 'body.names'],
    ['an empty Chinese name', { names: { 'zh-CN': '', en: 'Overdue' } }, 'body.names.zh-CN'],
    ['an unknown severity', { severity: 'urgent' }, 'body.severity'],
    ['a code with a space', { code: 'has space' }, 'body.code'],
    [
      'a subscriber of an unknown kind',
      { subscribers: [{ kind: 'team', id: 'x' }] },
      'body.subscribers.0.kind',
    ],
    [
      'more than 50 subscribers',
      { subscribers: Array.from({ length: 51 }, (_, i) => ({ kind: 'handler', id: `h${i}` })) },
      'body.subscribers',
    ],
  ])('refuses %s with 400 naming the field', async (_, extra, field) => {
    const res = await saveType(exceptionType(unique('bad'), extra));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('refuses a body field it does not know, naming it', async () => {
    const res = await saveType(exceptionType(unique('extra'), { colour: 'red' }));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContainEqual(expect.objectContaining({ property: 'colour' }));
  });

  it('lets neither a handler nor a reviewer save a type, and answers 404 for one never saved', async () => {
    const handler = await createHandler(stack);
    const reviewer = await issueToken(stack, 'rev-catalogs', 'reviewer');
    expect((await saveType(exceptionType(unique('h')), handler.token)).status).toBe(403);
    expect((await saveType(exceptionType(unique('r')), reviewer)).status).toBe(403);
    const missing = await call(stack, 'GET', '/v1/exception-types/never-saved', { token: manager });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('EXCEPTION_TYPE_NOT_FOUND');
  });

  it('records each save in the audit trail as code@version with the saved version', async () => {
    const code = unique('audited');
    await saveType(exceptionType(code));
    const saved = await saveType(exceptionType(code, { severity: 'medium' }));
    expect(await auditTrail('exception_type', `${code}@2`)).toMatchObject([
      { actorId: 'mgr-catalogs', action: 'exception_type.saved', entityId: `${code}@2`, after: saved.body },
    ]);
  });
});

describe('source systems', () => {
  it('saves each change as the next version, with defaults, and keeps the older ones readable', async () => {
    const code = unique('core.banking');
    const v1 = await saveSource({ code, name: 'Core banking' });
    expect(v1.status, JSON.stringify(v1.body)).toBe(201);
    expect(v1.body).toMatchObject({
      code,
      version: 1,
      name: 'Core banking',
      trusted: false,
      callbackUrl: null,
      rateLimitPerMinute: null,
      active: true,
      description: null,
      createdBy: 'admin',
    });
    const v2 = await saveSource({
      code,
      name: 'Core banking',
      trusted: true,
      callbackUrl: 'https://core.bank.example/matters/done',
      rateLimitPerMinute: 600,
      description: 'reviewed by the risk office',
    });
    expect(v2.body).toMatchObject({ version: 2, trusted: true, rateLimitPerMinute: 600 });

    const history = await call(stack, 'GET', `/v1/source-systems/${code}`, { token: auditor });
    expect(history.body.items).toMatchObject([
      { version: 2, trusted: true, callbackUrl: 'https://core.bank.example/matters/done' },
      { version: 1, trusted: false, callbackUrl: null },
    ]);
    const list = await call(stack, 'GET', '/v1/source-systems', { token: manager });
    expect(list.body.items.filter((s: { code: string }) => s.code === code)).toMatchObject([{ version: 2 }]);
  });

  it('lets only an admin save one: a manager gets 403, since trust skips review', async () => {
    const code = unique('ledger');
    const res = await saveSource({ code, name: 'Ledger', trusted: true }, manager);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    const missing = await call(stack, 'GET', `/v1/source-systems/${code}`, { token: manager });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('SOURCE_SYSTEM_NOT_FOUND');
  });

  it('is not readable with a source or handler token', async () => {
    const code = unique('hidden');
    await saveSource({ code, name: 'Hidden' });
    const source = await issueToken(stack, code, 'source');
    const handler = await createHandler(stack);
    for (const token of [source, handler.token]) {
      expect((await call(stack, 'GET', '/v1/source-systems', { token })).status).toBe(403);
      expect((await call(stack, 'GET', `/v1/source-systems/${code}`, { token })).status).toBe(403);
    }
  });

  it.each([
    ['a callback URL that is not http(s)', { callbackUrl: 'ftp://files.example/x' }, 'body.callbackUrl'],
    ['a rate limit of zero', { rateLimitPerMinute: 0 }, 'body.rateLimitPerMinute'],
    ['a rate limit over 100000', { rateLimitPerMinute: 100_001 }, 'body.rateLimitPerMinute'],
    ['a code with a slash', { code: 'a/b' }, 'body.code'],
    ['an empty name', { name: '' }, 'body.name'],
    ['a secret, which this catalog does not keep', { secret: 'x'.repeat(32) }, 'body'],
  ])('refuses %s with 400 naming the field', async (_, extra, field) => {
    const res = await saveSource({ code: unique('src'), name: 'Source', ...extra });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it('clears a callback URL and rate limit given as null', async () => {
    const code = unique('cleared');
    await saveSource({
      code,
      name: 'Cleared',
      callbackUrl: 'https://core.bank.example/cb',
      rateLimitPerMinute: 5,
    });
    const cleared = await saveSource({ code, name: 'Cleared', callbackUrl: null, rateLimitPerMinute: null });
    expect(cleared.body).toMatchObject({ version: 2, callbackUrl: null, rateLimitPerMinute: null });
  });

  it('records each save in the audit trail as code@version with the saved version', async () => {
    const code = unique('audited-src');
    const saved = await saveSource({ code, name: 'Audited', trusted: true });
    expect(await auditTrail('source_system', `${code}@1`)).toMatchObject([
      { actorId: 'admin', action: 'source_system.saved', entityId: `${code}@1`, after: saved.body },
    ]);
  });
});
