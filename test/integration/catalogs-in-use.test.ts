import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let reviewer: string;

beforeAll(async () => {
  stack = await startStack();
  reviewer = await issueToken(stack, 'rev-cat', 'reviewer');
});
afterAll(async () => stack?.close());

const code = (prefix: string) => `${prefix}-${randomUUID().slice(0, 6)}`;

async function push(token: string, source: string, handlerId: string, externalId = randomUUID()) {
  return call(stack, 'POST', '/v1/matters', {
    token,
    body: { source, externalId, title: 'Reconcile ledger', handlerId },
  });
}

describe('source systems decide whether their matters need review', () => {
  it('starts a trusted source’s matter at once', async () => {
    const source = code('trusted');
    const token = await issueToken(stack, source, 'source', { trusted: true });
    const h = await createHandler(stack);
    const res = await push(token, source, h.id);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('holds an untrusted source’s matter for review, and starts it when a reviewer approves', async () => {
    const source = code('untrusted');
    const token = await issueToken(stack, source, 'source', { trusted: false });
    const h = await createHandler(stack);
    const externalId = randomUUID();
    const res = await push(token, source, h.id, externalId);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/change-requests/${res.body.changeRequestId}`);
    const [before] = await stack.sql`select count(*)::int as n from matters where source = ${source}`;
    expect(before!.n).toBe(0);

    const again = await push(token, source, h.id, externalId);
    expect(again.status).toBe(202);
    expect(again.body.changeRequestId).toBe(res.body.changeRequestId);

    const approved = await call(stack, 'POST', `/v1/change-requests/${res.body.changeRequestId}/approve`, {
      token: reviewer,
      body: { comment: 'source checked' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await stack.receiver.waitFor(
      (hook) => hook.body.type === 'matter.assigned' && hook.body.matter.externalId === externalId,
      'the approved matter at its handler',
    );
    const afterApproval = await push(token, source, h.id, externalId);
    expect(afterApproval.status).toBe(200);
  });

  it('reviews the matters of a source nobody registered, and of one made untrusted later', async () => {
    const h = await createHandler(stack);
    const unregistered = code('unknown');
    const admin = stack.adminToken;
    const token = await call(stack, 'POST', '/v1/tokens', {
      token: admin,
      body: { subject: unregistered, role: 'source' },
    });
    expect((await push(token.body.token, unregistered, h.id)).status).toBe(202);

    const demoted = code('demoted');
    const demotedToken = await issueToken(stack, demoted, 'source', { trusted: true });
    expect((await push(demotedToken, demoted, h.id)).status).toBe(201);
    await call(stack, 'POST', '/v1/source-systems', {
      token: admin,
      body: { code: demoted, name: 'Demoted', trusted: false },
    });
    expect((await push(demotedToken, demoted, h.id)).status).toBe(202);
  });
});

describe('exception filings follow their event type in the catalog', () => {
  let source: string;
  let sourceToken: string;
  let manager: string;

  beforeAll(async () => {
    source = code('filings');
    sourceToken = await issueToken(stack, source, 'source');
    manager = await issueToken(stack, 'mgr-cat', 'manager');
  });

  async function typeWith(subscribers: { kind: string; id: string }[]) {
    const typeCode = code('PAYEE_MISMATCH').toUpperCase().replace(/-/g, '_');
    const res = await call(stack, 'POST', '/v1/exception-types', {
      token: manager,
      body: {
        code: typeCode,
        names: { 'zh-CN': '收款人不符', en: 'Payee mismatch' },
        severity: 'high',
        fieldsSchema: {
          type: 'object',
          required: ['account', 'amount'],
          properties: { account: { type: 'string', minLength: 4 }, amount: { type: 'number', minimum: 0 } },
        },
        subscribers,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return typeCode;
  }

  it('refuses fields that do not fit the type’s schema, naming the field, and records nothing', async () => {
    const h = await createHandler(stack);
    const typeCode = await typeWith([]);
    const matter = await push(sourceToken, source, h.id);
    const res = await call(stack, 'POST', `/v1/matters/${matter.body.id}/exceptions`, {
      token: h.token,
      body: { eventType: typeCode, description: 'wrong payee', fields: { account: '1234' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_FIELDS');
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'body.fields.amount' })]);
    const filings = await stack.sql`select 1 from exception_filings where matter_id = ${matter.body.id}`;
    expect(filings).toHaveLength(0);
  });

  it('shares a filing at once with the type’s subscribers and the handler’s supervisor, pinned to the type’s version', async () => {
    const boss = await createHandler(stack);
    const h = await createHandler(stack, { supervisorId: boss.id });
    const risk = await createHandler(stack);
    const desk = [await createHandler(stack), await createHandler(stack)];
    const groupId = code('risk-desk');
    await call(stack, 'POST', '/v1/groups', {
      token: manager,
      body: { id: groupId, name: 'Risk desk', members: desk.map((d) => d.id) },
    });
    const typeCode = await typeWith([
      { kind: 'handler', id: risk.id },
      { kind: 'group', id: groupId },
    ]);
    const matter = await push(sourceToken, source, h.id);
    const filed = await call(stack, 'POST', `/v1/matters/${matter.body.id}/exceptions`, {
      token: h.token,
      body: {
        eventType: typeCode,
        description: 'wrong payee',
        fields: { account: '6222-01', amount: 120.5 },
      },
    });
    expect(filed.status, JSON.stringify(filed.body)).toBe(200);
    for (const who of [boss, risk, ...desk]) {
      const notice = await stack.receiver.waitFor(
        (hook) =>
          hook.body.type === 'exception.filed' &&
          hook.body.matter.id === matter.body.id &&
          hook.path.endsWith(who.id),
        `the filing at ${who.id}`,
      );
      expect(notice.body.data).toMatchObject({
        eventType: typeCode,
        eventTypeVersion: 1,
        severity: 'high',
        fields: { account: '6222-01', amount: 120.5 },
      });
    }
    const [event] = await eventually(async () => {
      const rows = await stack.sql<{ data: Record<string, unknown> }[]>`
        select data from matter_events where matter_id = ${matter.body.id} and type = 'exception.filed'`;
      return rows.length > 0 && rows;
    }, 'the filing event');
    expect(event!.data).toMatchObject({ eventType: typeCode, eventTypeVersion: 1 });
  });

  it('refuses filing an event type that is not in the catalog or has been retired', async () => {
    const h = await createHandler(stack);
    const typeCode = await typeWith([]);
    await call(stack, 'POST', '/v1/exception-types', {
      token: manager,
      body: {
        code: typeCode,
        names: { 'zh-CN': '停用', en: 'Retired' },
        severity: 'low',
        fieldsSchema: { type: 'object' },
        subscribers: [],
        active: false,
      },
    });
    const matter = await push(sourceToken, source, h.id);
    const res = await call(stack, 'POST', `/v1/matters/${matter.body.id}/exceptions`, {
      token: h.token,
      body: { eventType: typeCode, description: 'x', fields: {} },
    });
    expect([res.status, res.body.error.code]).toEqual([422, 'UNKNOWN_EVENT_TYPE']);
  });
});
