import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import type { ReceivedWebhook } from '../support/webhook-receiver.js';

let stack: TestStack;
let source: string;
let manager: string;
const SOURCE = `ooo-${randomUUID().slice(0, 6)}`;
const HOUR = 3600_000;

beforeAll(async () => {
  stack = await startStack();
  source = await issueToken(stack, SOURCE, 'source');
  manager = await issueToken(stack, 'mgr-ooo', 'manager');
});
afterAll(async () => stack?.close());

const iso = (ms: number) => new Date(ms).toISOString();

async function away(
  handlerId: string,
  delegateId: string,
  token: string,
  from = Date.now() - 1000,
  to = from + HOUR,
) {
  return call(stack, 'POST', `/v1/handlers/${handlerId}/delegations`, {
    token,
    body: { delegateId, startsAt: iso(from), endsAt: iso(to), reason: 'annual leave' },
  });
}

async function push(handlerId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: source,
    body: { source: SOURCE, externalId: randomUUID(), title: 'Check collateral', handlerId, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

const about = (matterId: string, type: string) => (hook: ReceivedWebhook) =>
  hook.body.matter.id === matterId && hook.body.type === type;

const received = (handlerId: string, matterId: string) =>
  stack.receiver.for(handlerId).filter((h) => h.body.matter.id === matterId);

describe('out-of-office delegation', () => {
  it('sends a new matter and its reminders to the stand-in while the window lasts, and lets them act for the absent handler', async () => {
    const absent = await createHandler(stack);
    const standIn = await createHandler(stack);
    expect((await away(absent.id, standIn.id, absent.token)).status).toBe(201);

    const id = await push(absent.id, { reminderRule: { firstAfter: 'PT1S', every: 'PT1S', maxCount: 2 } });
    const assigned = await stack.receiver.waitFor(
      (h) => about(id, 'matter.assigned')(h) && h.path.endsWith(standIn.id),
      'the assignment at the stand-in',
    );
    expect(assigned.body.data.onBehalfOf).toBe(absent.id);
    expect(assigned.body.matter.handlerId).toBe(absent.id);
    await stack.receiver.waitFor(
      (h) => about(id, 'matter.reminder')(h) && h.path.endsWith(standIn.id),
      'a reminder at the stand-in',
    );
    expect(received(absent.id, id)).toEqual([]);
    const rows = await stack.sql`
      select recipient_id, on_behalf_of from notifications where matter_id = ${id} and type = 'matter.assigned'`;
    expect(rows).toEqual([{ recipient_id: standIn.id, on_behalf_of: absent.id }]);

    const inbox = await call(stack, 'GET', '/v1/matters?status=open', { token: standIn.token });
    expect(inbox.body.items.map((m: { id: string }) => m.id)).toContain(id);

    const done = await call(stack, 'POST', `/v1/matters/${id}/complete`, {
      token: standIn.token,
      body: { comment: 'covered while away' },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const [event] = await stack.sql`
      select actor_id, data from matter_events where matter_id = ${id} and type = 'matter.completed'`;
    expect(event).toMatchObject({ actor_id: standIn.id, data: { onBehalfOf: absent.id } });
    const [audit] = await stack.sql`
      select actor_id, acting_for from audit_log where entity_id = ${id} and action = 'matter.completed'`;
    expect(audit).toEqual({ actor_id: standIn.id, acting_for: absent.id });
  });

  it('moves reminders of a matter already running to the stand-in when the window starts', async () => {
    const absent = await createHandler(stack);
    const standIn = await createHandler(stack);
    const id = await push(absent.id, { reminderRule: { firstAfter: 'PT3S', every: 'PT1S', maxCount: 3 } });
    await stack.receiver.waitFor(
      (h) => about(id, 'matter.assigned')(h) && h.path.endsWith(absent.id),
      'the assignment at the handler, before the window',
    );
    expect((await away(absent.id, standIn.id, manager, Date.now() + 1000)).status).toBe(201);
    const reminder = await stack.receiver.waitFor(
      (h) => about(id, 'matter.reminder')(h) && h.path.endsWith(standIn.id),
      'a reminder at the stand-in once the window started',
    );
    expect(reminder.body.data.onBehalfOf).toBe(absent.id);
    expect(received(absent.id, id).filter((h) => h.body.type === 'matter.reminder')).toEqual([]);
  });

  it('returns reminders and new matters to the handler when the window ends, and the stand-in can no longer act', async () => {
    const absent = await createHandler(stack);
    const standIn = await createHandler(stack);
    const window = await away(absent.id, standIn.id, absent.token);
    const id = await push(absent.id, { reminderRule: { firstAfter: 'PT1S', every: 'PT2S', maxCount: 6 } });
    await stack.receiver.waitFor(
      (h) => about(id, 'matter.reminder')(h) && h.path.endsWith(standIn.id),
      'a reminder at the stand-in during the window',
    );

    const ended = await call(stack, 'DELETE', `/v1/handlers/${absent.id}/delegations/${window.body.id}`, {
      token: absent.token,
    });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body.revokedBy).toBe(absent.id);
    const back = await stack.receiver.waitFor(
      (h) => about(id, 'matter.reminder')(h) && h.path.endsWith(absent.id),
      'a reminder back at the handler',
    );
    expect(back.body.data.onBehalfOf).toBeUndefined();

    const later = await push(absent.id);
    await stack.receiver.waitFor(
      (h) => about(later, 'matter.assigned')(h) && h.path.endsWith(absent.id),
      'a new matter at the handler after the window',
    );
    expect(received(standIn.id, later)).toEqual([]);
    const refused = await call(stack, 'POST', `/v1/matters/${later}/complete`, {
      token: standIn.token,
      body: {},
    });
    expect(refused.status).toBe(403);
  });

  it('returns reminders to the handler by themselves once the window’s end passes, nobody ending it', async () => {
    const absent = await createHandler(stack);
    const standIn = await createHandler(stack);
    const endsAt = Date.now() + 5000;
    const window = await away(absent.id, standIn.id, absent.token, Date.now() - 1000, endsAt);
    expect(window.status, JSON.stringify(window.body)).toBe(201);
    const id = await push(absent.id, { reminderRule: { firstAfter: 'PT1S', every: 'PT2S', maxCount: 8 } });
    await stack.receiver.waitFor(
      (h) => about(id, 'matter.reminder')(h) && h.path.endsWith(standIn.id),
      'a reminder at the stand-in during the window',
    );

    const reminders = (handlerId: string) =>
      received(handlerId, id).filter((h) => h.body.type === 'matter.reminder');
    const [back] = await eventually(async () => {
      const hers = reminders(absent.id);
      return hers.length >= 2 && hers;
    }, 'two reminders back at the handler after the window');
    expect(Date.parse(back!.body.sentAt)).toBeGreaterThanOrEqual(endsAt);
    expect(back!.body.data.onBehalfOf).toBeUndefined();
    const during = reminders(standIn.id);
    expect(during.every((h) => Date.parse(h.body.sentAt) < Date.parse(back!.body.sentAt))).toBe(true);
    const [row] = await stack.sql`select revoked_at from delegations where id = ${window.body.id}`;
    expect(row).toEqual({ revoked_at: null });
  });

  it('sends escalations to the absent handler’s own supervisor, not the stand-in’s', async () => {
    const boss = await createHandler(stack);
    const otherBoss = await createHandler(stack);
    const absent = await createHandler(stack, { supervisorId: boss.id });
    const standIn = await createHandler(stack, { supervisorId: otherBoss.id });
    expect((await away(absent.id, standIn.id, absent.token)).status).toBe(201);
    const id = await push(absent.id, {
      dueAt: iso(Date.now()),
      reminderRule: { every: 'PT1H', escalateAfter: 'PT1S' },
    });
    const escalation = await stack.receiver.waitFor(about(id, 'matter.escalated'), 'the escalation');
    expect(escalation.path.endsWith(boss.id)).toBe(true);
    await eventually(
      async () =>
        (
          await stack.sql`select 1 from notifications where matter_id = ${id} and type = 'matter.escalated' and status = 'delivered'`
        ).length > 0,
      'the escalation recorded as delivered',
    );
    expect(received(otherBoss.id, id)).toEqual([]);
    expect(received(standIn.id, id).filter((h) => h.body.type === 'matter.escalated')).toEqual([]);
  });

  it('lets a stand-in act through the action link in the message they received', async () => {
    const absent = await createHandler(stack);
    const standIn = await createHandler(stack);
    await away(absent.id, standIn.id, absent.token);
    const id = await push(absent.id);
    const assigned = await stack.receiver.waitFor(
      (h) => about(id, 'matter.assigned')(h) && h.path.endsWith(standIn.id),
      'the assignment with links at the stand-in',
    );
    const link = assigned.body.actions.find((a) => a.action === 'complete')!;
    const res = await fetch(link.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ outcome: 'approved' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const [audit] = await stack.sql`
      select actor_id, acting_for from audit_log where entity_id = ${id} and action = 'matter.completed'`;
    expect(audit).toEqual({ actor_id: standIn.id, acting_for: absent.id });
  });

  it('refuses a window that would hand matters round in a circle, but accepts the reverse at another time', async () => {
    const a = await createHandler(stack);
    const b = await createHandler(stack);
    const start = Date.now() + 24 * HOUR;
    expect((await away(a.id, b.id, manager, start, start + 48 * HOUR)).status).toBe(201);
    const cycle = await away(b.id, a.id, manager, start + HOUR, start + 2 * HOUR);
    expect(cycle.status).toBe(409);
    expect(cycle.body.error.code).toBe('DELEGATION_CYCLE');
    const overlap = await away(a.id, b.id, manager, start + HOUR, start + 2 * HOUR);
    expect(overlap.body.error.code).toBe('OVERLAPS_OWN_WINDOW');
    const later = await away(b.id, a.id, manager, start + 72 * HOUR, start + 73 * HOUR);
    expect(later.status, JSON.stringify(later.body)).toBe(201);
  });

  it('bounds chains of stand-ins', async () => {
    const people = await Promise.all(Array.from({ length: 7 }, () => createHandler(stack)));
    const start = Date.now() + 24 * HOUR;
    for (let i = 0; i < 5; i++) {
      const res = await away(people[i]!.id, people[i + 1]!.id, manager, start, start + HOUR);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const sixth = await away(people[5]!.id, people[6]!.id, manager, start, start + HOUR);
    expect(sixth.status).toBe(409);
    expect(sixth.body.error.code).toBe('DELEGATION_CHAIN_TOO_LONG');
  });

  it('refuses bad windows with a clear error and lets a handler set only their own', async () => {
    const a = await createHandler(stack);
    const b = await createHandler(stack);
    const backwards = await away(a.id, b.id, a.token, Date.now() + HOUR, Date.now());
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.code).toBe('INVALID_WINDOW');
    const self = await away(a.id, a.id, a.token);
    expect(self.body.error.code).toBe('INVALID_DELEGATE');
    const ghost = await away(a.id, 'nobody-here', a.token);
    expect(ghost.status).toBe(422);
    const forOther = await away(b.id, a.id, a.token);
    expect(forOther.status).toBe(403);
    const unknownField = await call(stack, 'POST', `/v1/handlers/${a.id}/delegations`, {
      token: a.token,
      body: { delegateId: b.id, startsAt: iso(Date.now()), endsAt: iso(Date.now() + HOUR), handlerId: b.id },
    });
    expect(unknownField.status).toBe(400);
    const listed = await call(stack, 'GET', `/v1/handlers/${a.id}/delegations`, { token: a.token });
    expect(listed.body.items).toEqual([]);
  });

  it('records every window set and ended in the audit trail', async () => {
    const a = await createHandler(stack);
    const b = await createHandler(stack);
    const created = await away(a.id, b.id, manager);
    await call(stack, 'DELETE', `/v1/handlers/${a.id}/delegations/${created.body.id}`, { token: manager });
    const rows = await stack.sql`
      select action, actor_id, acting_for from audit_log where entity_id = ${created.body.id} order by chain_seq`;
    expect(rows).toEqual([
      { action: 'delegation.created', actor_id: 'mgr-ooo', acting_for: a.id },
      { action: 'delegation.revoked', actor_id: 'mgr-ooo', acting_for: a.id },
    ]);
  });
});
