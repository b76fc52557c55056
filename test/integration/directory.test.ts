import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let manager: string;

beforeAll(async () => {
  stack = await startStack();
  manager = await issueToken(stack, 'mgr-dir', 'manager');
});
afterAll(async () => stack?.close());

const patch = (id: string, body: unknown, token = manager) =>
  call(stack, 'PATCH', `/v1/handlers/${id}`, { token, body });

describe('the directory', () => {
  it('changes a handler’s name, locale, time zone and channels, recording before and after', async () => {
    const h = await createHandler(stack);
    const res = await patch(h.id, {
      name: '李娜',
      locale: 'en',
      timezone: 'Asia/Hong_Kong',
      channels: [{ type: 'webhook', address: 'https://hooks.bank.example/new' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      name: '李娜',
      locale: 'en',
      timezone: 'Asia/Hong_Kong',
      channels: [{ address: 'https://hooks.bank.example/new' }],
    });
    const [row] =
      await stack.sql`select actor_id, before, after from audit_log where entity_id = ${h.id} and action = 'handler.updated'`;
    expect(row).toMatchObject({
      actor_id: 'mgr-dir',
      before: { locale: 'zh-CN' },
      after: { locale: 'en', name: '李娜' },
    });
  });

  it('gives an inactive handler no new matters and no transfers', async () => {
    const leaving = await createHandler(stack);
    const staying = await createHandler(stack);
    expect((await patch(leaving.id, { active: false })).body.active).toBe(false);
    const source = await issueToken(stack, 'dir-src', 'source');
    const refused = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: 'dir-src', externalId: randomUUID(), title: 'x', handlerId: leaving.id },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('UNKNOWN_HANDLER');
    const matter = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: 'dir-src', externalId: randomUUID(), title: 'y', handlerId: staying.id },
    });
    const transfer = await call(stack, 'POST', `/v1/matters/${matter.body.id}/transfer`, {
      token: staying.token,
      body: { toHandlerId: leaving.id, reason: 'cover' },
    });
    expect(transfer.status).toBe(422);
    expect(transfer.body.error.code).toBe('UNKNOWN_HANDLER');
  });

  it('refuses a reporting line that loops back, an empty change and an unknown handler', async () => {
    const boss = await createHandler(stack);
    const report = await createHandler(stack, { supervisorId: boss.id });
    const loop = await patch(boss.id, { supervisorId: report.id });
    expect(loop.status).toBe(422);
    expect(loop.body.error.code).toBe('SUPERVISOR_LOOP');
    expect((await patch(boss.id, { supervisorId: boss.id })).body.error.code).toBe('INVALID_SUPERVISOR');
    expect((await patch(boss.id, {})).status).toBe(400);
    expect((await patch(boss.id, { role: 'admin' })).status).toBe(400);
    expect((await patch('nobody-at-all', { name: 'x' })).status).toBe(404);
    const cleared = await patch(report.id, { supervisorId: null });
    expect(cleared.body.supervisorId).toBeNull();
  });
});
