import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let sourceToken: string;
const SOURCE = `tg-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  // Two transfers are allowed; the third alerts the manager.
  stack = await startStack({ env: { TRANSFER_ALERT_AFTER: '2' } });
  sourceToken = await issueToken(stack, SOURCE, 'source');
});
afterAll(async () => stack?.close());

async function push(handlerId: string): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: { source: SOURCE, externalId: randomUUID(), title: 'Check collateral', handlerId },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

const act = (token: string, id: string, action: string, body: object) =>
  call(stack, 'POST', `/v1/matters/${id}/${action}`, { token, body });

const timeline = async (id: string) =>
  (await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken })).body.events as {
    type: string;
    actorId: string | null;
    data: Record<string, unknown>;
  }[];

describe('transfer guard', () => {
  it('a transfer needs a reason', async () => {
    const [a, b] = [await createHandler(stack), await createHandler(stack)];
    const id = await push(a.id);
    const res = await act(a.token, id, 'transfer', { toHandlerId: b.id, reason: '   ' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ACTION');
    expect(res.body.error.message).toMatch(/reason/);
  });

  it('the new handler rejects a transfer back with a reason: the sender has it again at once, told why', async () => {
    const [a, b] = [await createHandler(stack), await createHandler(stack)];
    const id = await push(a.id);
    expect((await act(a.token, id, 'transfer', { toHandlerId: b.id, reason: 'my branch' })).status).toBe(200);

    const reason = 'not my product line';
    const rejected = await act(b.token, id, 'reject-transfer', { reason });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body).toMatchObject({ id, status: 'open', handlerId: a.id });
    const after = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(after.body).toMatchObject({ handlerId: a.id, transferCount: 2 });

    const notice = await stack.receiver.waitFor(
      (h) => h.body.type === 'transfer.rejected' && h.body.matter.id === id,
      'the rejection notice',
    );
    expect(notice.path).toBe(`/hooks/${encodeURIComponent(a.id)}`);
    expect(notice.body.data).toMatchObject({ from: b.id, reason });
    // The one who has it back can act on it from the notice.
    expect(notice.body.actions.map((x: { action: string }) => x.action)).toContain('complete');

    const events = await timeline(id);
    expect(events.find((e) => e.type === 'transfer.rejected')).toMatchObject({
      actorId: b.id,
      data: { from: b.id, to: a.id, reason },
    });
    const audit = await call(stack, 'GET', `/v1/audit?entityType=matter&entityId=${id}`, {
      token: stack.adminToken,
    });
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain('transfer.rejected');

    // Handed back, not on: neither side can reject it again; the first handler may transfer anew.
    const again = await act(a.token, id, 'reject-transfer', { reason: 'no' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('NO_TRANSFER_TO_REJECT');
    const byOld = await act(b.token, id, 'reject-transfer', { reason: 'no' });
    expect(byOld.status).toBe(403);
    expect(byOld.body.error.code).toBe('NOT_YOUR_MATTER');
  });

  it('refuses to reject a matter that was assigned, not transferred, and a rejection without a reason', async () => {
    const [a, b] = [await createHandler(stack), await createHandler(stack)];
    const id = await push(a.id);
    const assigned = await act(a.token, id, 'reject-transfer', { reason: 'not mine' });
    expect(assigned.status).toBe(409);
    expect(assigned.body.error.code).toBe('NO_TRANSFER_TO_REJECT');

    await act(a.token, id, 'transfer', { toHandlerId: b.id, reason: 'r' });
    const blank = await act(b.token, id, 'reject-transfer', { reason: ' ' });
    expect(blank.status).toBe(400);
    const missing = await act(b.token, id, 'reject-transfer', {});
    expect(missing.status).toBe(400);
    const events = await timeline(id);
    expect(events.filter((e) => e.type === 'transfer.rejected')).toHaveLength(0);
  });

  it('more transfers than the threshold alert the manager, once per transfer beyond it', async () => {
    const manager = await createHandler(stack);
    const [a, b] = [
      await createHandler(stack, { supervisorId: manager.id }),
      await createHandler(stack, { supervisorId: manager.id }),
    ];
    const id = await push(a.id);
    expect((await act(a.token, id, 'transfer', { toHandlerId: b.id, reason: 'one' })).status).toBe(200);
    expect((await act(b.token, id, 'reject-transfer', { reason: 'two' })).status).toBe(200);
    expect(
      (await timeline(id)).filter((e) => e.type === 'matter.transfer-alert'),
      'two transfers are within the limit',
    ).toHaveLength(0);

    expect((await act(a.token, id, 'transfer', { toHandlerId: b.id, reason: 'three' })).status).toBe(200);
    const alert = await stack.receiver.waitFor(
      (h) => h.body.type === 'matter.transfer-alert' && h.body.matter.id === id,
      'the transfer alert',
    );
    expect(alert.path).toBe(`/hooks/${encodeURIComponent(manager.id)}`);
    expect(alert.body.data).toEqual({ transfers: 3, alertAfter: 2 });
    expect(alert.body.actions).toEqual([]);
    const alerts = (await timeline(id)).filter((e) => e.type === 'matter.transfer-alert');
    expect(alerts).toEqual([
      expect.objectContaining({ actorId: null, data: { transfers: 3, alertAfter: 2 } }),
    ]);
  });
});
