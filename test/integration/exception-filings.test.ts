import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let manager: string;
let source: string;
let sourceToken: string;

beforeAll(async () => {
  stack = await startStack();
  manager = await issueToken(stack, 'mgr-filings', 'manager');
  source = `filings-${randomUUID().slice(0, 6)}`;
  sourceToken = await issueToken(stack, source, 'source');
});
afterAll(async () => stack?.close());

const typeCode = () => `EXC_${randomUUID().slice(0, 8).toUpperCase()}`;

async function saveType(
  code: string,
  extra: { onFiling?: string; subscribers?: unknown[]; required?: string[] } = {},
): Promise<void> {
  const res = await call(stack, 'POST', '/v1/exception-types', {
    token: manager,
    body: {
      code,
      names: { 'zh-CN': '收款人不符', en: 'Payee mismatch' },
      severity: 'high',
      fieldsSchema: {
        type: 'object',
        required: extra.required ?? ['account'],
        properties: { account: { type: 'string' } },
      },
      ...(extra.onFiling ? { onFiling: extra.onFiling } : {}),
      subscribers: extra.subscribers ?? [],
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function push(handlerId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: {
      source,
      externalId: randomUUID(),
      title: 'Reconcile ledger 7',
      handlerId,
      link: 'https://ledger.example/7',
      dueAt: '2099-01-01T00:00:00.000Z',
      ...extra,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  // The timeline then opens with the assignment, as a handler acting on a notice would see it.
  await eventually(
    async () => (await stack.sql`select 1 from matter_events where matter_id = ${res.body.id}`).length > 0,
    'the matter assigned',
  );
  return res.body.id;
}

const file = (matterId: string, token: string, body: Record<string, unknown>) =>
  call(stack, 'POST', `/v1/matters/${matterId}/exceptions`, { token, body });

async function filingOf(matterId: string) {
  const res = await call(stack, 'GET', `/v1/exception-filings?matterId=${matterId}`, { token: manager });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.items, 'one filing on the matter').toHaveLength(1);
  return res.body.items[0];
}

const eventsOf = (matterId: string) =>
  stack.sql<{ seq: number; type: string; actor_id: string; data: Record<string, unknown> }[]>`
    select seq, type, actor_id, data from matter_events where matter_id = ${matterId} order by seq`;

describe('exception filings', () => {
  it('when a required field is missing, then 400 names it and nothing is filed', async () => {
    const h = await createHandler(stack);
    const code = typeCode();
    await saveType(code);
    const matterId = await push(h.id);
    const res = await file(matterId, h.token, { eventType: code, description: 'wrong payee', fields: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_FIELDS');
    expect(res.body.error.message).toContain('body.fields.account');
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'body.fields.account' })]);
    expect(await stack.sql`select 1 from exception_filings where matter_id = ${matterId}`).toHaveLength(0);
  });

  it('when an attachment is not an http(s) link, then 400 names it', async () => {
    const h = await createHandler(stack);
    const matterId = await push(h.id);
    const res = await file(matterId, h.token, {
      eventType: 'OTHER',
      description: 'see file',
      attachments: [{ name: 'scan', url: 'file:///etc/passwd' }],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('attachments/0/url');
  });

  it('when a valid filing is made, then every subscriber’s receiver gets it with the matter; acknowledging and closing it are recorded', async () => {
    const boss = await createHandler(stack);
    const h = await createHandler(stack, { supervisorId: boss.id, name: 'Hana Handler' });
    const risk = await createHandler(stack);
    const member = await createHandler(stack);
    const groupId = `risk-${randomUUID().slice(0, 6)}`;
    const group = await call(stack, 'POST', '/v1/groups', {
      token: manager,
      body: { id: groupId, name: 'Risk desk', members: [member.id] },
    });
    expect(group.status).toBe(201);
    const external = `ext-${randomUUID().slice(0, 6)}`;
    const code = typeCode();
    await saveType(code, {
      subscribers: [
        { kind: 'handler', id: risk.id },
        { kind: 'group', id: groupId },
        { kind: 'webhook', url: stack.receiver.addressFor(external) },
      ],
    });
    const matterId = await push(h.id);
    const attachments = [
      {
        name: 'statement.pdf',
        url: 'https://docs.example/statement.pdf',
        mediaType: 'application/pdf',
        size: 2048,
      },
    ];
    const filed = await file(matterId, h.token, {
      eventType: code,
      description: 'wrong payee',
      fields: { account: '6222-01' },
      attachments,
    });
    expect(filed.status, JSON.stringify(filed.body)).toBe(200);
    expect(filed.body.status).toBe('open');
    // The answer names the filing it made, so the filer can follow it on the board.
    expect((await filingOf(matterId)).id).toBe(filed.body.filingId);

    for (const who of [risk.id, member.id, external]) {
      const notice = await stack.receiver.waitFor(
        (hook) =>
          hook.body.type === 'exception.filed' &&
          hook.body.matter.id === matterId &&
          hook.path.endsWith(encodeURIComponent(who)),
        `the filing at ${who}`,
      );
      expect(notice.signatureValid, `signature of the notice to ${who}`).toBe(true);
      expect(notice.body.matter).toMatchObject({
        title: 'Reconcile ledger 7',
        link: 'https://ledger.example/7',
        handlerId: h.id,
        dueAt: '2099-01-01T00:00:00.000Z',
      });
      expect(notice.body.data).toMatchObject({
        eventType: code,
        description: 'wrong payee',
        fields: { account: '6222-01' },
        attachments,
        filingId: expect.any(String),
      });
    }
    const toExternal = stack.receiver.for(external);
    expect(toExternal[0]!.body.handler).toEqual({ id: h.id, name: 'Hana Handler' });
    expect(toExternal[0]!.headers['idempotency-key']).toBe(toExternal[0]!.body.idempotencyKey);

    const filing = await filingOf(matterId);
    expect(filing).toMatchObject({
      eventType: code,
      typeVersion: 1,
      severity: 'high',
      onFiling: 'leave_open',
      status: 'open',
      attachments,
      filedBy: h.id,
    });
    expect(toExternal[0]!.body.data.filingId).toBe(filing.id);

    // Someone who does not follow the type may neither acknowledge nor close it.
    const outsider = await createHandler(stack);
    const refused = await call(stack, 'POST', `/v1/exception-filings/${filing.id}/acknowledge`, {
      token: outsider.token,
      body: {},
    });
    expect(refused.status).toBe(403);

    const acked = await call(stack, 'POST', `/v1/exception-filings/${filing.id}/acknowledge`, {
      token: member.token,
      body: { note: 'looking into it' },
    });
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    expect(acked.body).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: member.id,
      acknowledgedNote: 'looking into it',
    });

    const closed = await call(stack, 'POST', `/v1/exception-filings/${filing.id}/close`, {
      token: risk.token,
      body: { note: 'payee corrected at source' },
    });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body).toMatchObject({
      status: 'closed',
      closedBy: risk.id,
      closedNote: 'payee corrected at source',
    });

    const again = await call(stack, 'POST', `/v1/exception-filings/${filing.id}/close`, {
      token: risk.token,
      body: { note: 'twice' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('FILING_ALREADY_CLOSED');

    const events = await eventsOf(matterId);
    expect(events.map((e) => e.type)).toEqual([
      'matter.assigned',
      'exception.filed',
      'exception.acknowledged',
      'exception.closed',
    ]);
    expect(events[2]).toMatchObject({
      actor_id: member.id,
      data: { filingId: filing.id, note: 'looking into it' },
    });
    expect(events[3]).toMatchObject({
      actor_id: risk.id,
      data: { filingId: filing.id, note: 'payee corrected at source' },
    });

    const detail = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: h.token });
    expect(detail.body.exceptions[0]).toMatchObject({ status: 'closed', attachments });

    const trail = await call(stack, 'GET', `/v1/audit?entityType=matter&entityId=${matterId}`, {
      token: stack.adminToken,
    });
    expect(trail.body.items.map((r: { action: string }) => r.action)).toEqual(
      expect.arrayContaining(['exception.filed', 'exception.acknowledged', 'exception.closed']),
    );
    const closing = trail.body.items.find((r: { action: string }) => r.action === 'exception.closed');
    expect(closing).toMatchObject({
      actorId: risk.id,
      data: { filingId: filing.id, note: 'payee corrected at source' },
    });

    const board = await call(stack, 'GET', `/v1/exception-filings?type=${code}`, { token: risk.token });
    expect(board.body.items.map((f: { id: string }) => f.id)).toEqual([filing.id]);
    const hidden = await call(stack, 'GET', `/v1/exception-filings/${filing.id}`, { token: outsider.token });
    expect(hidden.status).toBe(404);
  });

  it('when a type pauses reminders, then none go out while its filing is open, and they resume once it is closed', async () => {
    const h = await createHandler(stack);
    const code = typeCode();
    await saveType(code, { onFiling: 'pause_reminders', required: [] });
    const matterId = await push(h.id, { reminderRule: { every: 'PT2S' } });
    const reminders = () =>
      stack.receiver
        .for(h.id)
        .filter((x) => x.body.matter.id === matterId && x.body.type === 'matter.reminder');
    await stack.receiver.waitFor(
      (x) => x.body.matter.id === matterId && x.body.type === 'matter.reminder',
      'a first reminder',
    );
    const filed = await file(matterId, h.token, { eventType: code, description: 'waiting on the branch' });
    expect(filed.status, JSON.stringify(filed.body)).toBe(200);
    const before = reminders().length;
    await new Promise((r) => setTimeout(r, 6_000));
    expect(reminders().length, 'reminders while the filing is open').toBeLessThanOrEqual(before);
    const matter = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: manager });
    expect(matter.body.nextNoticeAt).toBeNull();

    const filing = await filingOf(matterId);
    const closed = await call(stack, 'POST', `/v1/exception-filings/${filing.id}/close`, {
      token: manager,
      body: { note: 'branch answered' },
    });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    await eventually(async () => reminders().length > before, 'a reminder after the filing closed', 10_000);
  });

  it('when a type returns the matter to its source, then the matter ends as returned and its filing can still be closed', async () => {
    const h = await createHandler(stack);
    const code = typeCode();
    await saveType(code, { onFiling: 'return_to_source', required: [] });
    const matterId = await push(h.id);
    const filed = await file(matterId, h.token, { eventType: code, description: 'not ours' });
    expect(filed.status, JSON.stringify(filed.body)).toBe(200);
    expect(filed.body.status).toBe('returned');
    await eventually(async () => {
      const res = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: manager });
      return res.body.status === 'returned' && res;
    }, 'the matter returned');
    const done = await call(stack, 'POST', `/v1/matters/${matterId}/complete`, { token: h.token, body: {} });
    expect(done.status).toBe(409);

    const filing = await filingOf(matterId);
    const closed = await call(stack, 'POST', `/v1/exception-filings/${filing.id}/close`, {
      token: manager,
      body: { note: 'source took it back' },
    });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    const events = await eventsOf(matterId);
    expect(events.map((e) => e.type)).toEqual([
      'matter.assigned',
      'exception.filed',
      'matter.returned',
      'exception.closed',
    ]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });
});
