import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import type { ReceivedWebhook } from '../support/webhook-receiver.js';

let stack: TestStack;
let source: string;
let manager: string;
const SOURCE = `grp-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  stack = await startStack();
  source = await issueToken(stack, SOURCE, 'source');
  manager = await issueToken(stack, 'mgr-grp', 'manager');
});
afterAll(async () => stack?.close());

type Person = { id: string; token: string };

async function team(size: number, supervisorId?: string): Promise<{ id: string; members: Person[] }> {
  const members = await Promise.all(Array.from({ length: size }, () => createHandler(stack)));
  const id = `team-${randomUUID().slice(0, 8)}`;
  const res = await call(stack, 'POST', '/v1/groups', {
    token: manager,
    body: {
      id,
      name: '信贷审查组',
      members: members.map((m) => m.id),
      ...(supervisorId ? { supervisorId } : {}),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id, members };
}

async function offer(groupId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: source,
    body: { source: SOURCE, externalId: randomUUID(), title: 'Review application', groupId, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

const claim = (id: string, who: Person) =>
  call(stack, 'POST', `/v1/matters/${id}/claim`, { token: who.token, body: {} });
const about = (matterId: string, type: string, to: string) => (hook: ReceivedWebhook) =>
  hook.body.matter.id === matterId && hook.body.type === type && hook.path.endsWith(to);

describe('groups and claiming', () => {
  it('offers a group matter to every member, and shows it in their inboxes until claimed', async () => {
    const { id: groupId, members } = await team(3);
    const outsider = await createHandler(stack);
    const id = await offer(groupId);
    for (const m of members) {
      const notice = await stack.receiver.waitFor(about(id, 'matter.assigned', m.id), `the offer at ${m.id}`);
      expect(notice.body.matter).toMatchObject({ handlerId: null, groupId });
      expect(notice.body.actions).toEqual([]);
    }
    const inbox = await call(stack, 'GET', '/v1/matters?status=open', { token: members[1]!.token });
    expect(inbox.body.items.map((m: { id: string }) => m.id)).toContain(id);
    const detail = await call(stack, 'GET', `/v1/matters/${id}`, { token: members[2]!.token });
    expect(detail.body).toMatchObject({ handlerId: null, groupId });
    expect((await call(stack, 'GET', `/v1/matters/${id}`, { token: outsider.token })).status).toBe(404);
    const early = await call(stack, 'POST', `/v1/matters/${id}/complete`, {
      token: members[0]!.token,
      body: {},
    });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('NOT_CLAIMED');
  });

  it('lets exactly one of several concurrent claims win', async () => {
    const { id: groupId, members } = await team(5);
    const id = await offer(groupId);
    const answers = await Promise.all(members.map((m) => claim(id, m)));
    const won = answers.filter((a) => a.status === 200);
    const lost = answers.filter((a) => a.status !== 200);
    expect(won).toHaveLength(1);
    expect(lost.map((a) => [a.status, a.body.error.code])).toEqual(
      Array.from({ length: 4 }, () => [409, 'ALREADY_CLAIMED']),
    );
    const winner = won[0]!.body.handlerId as string;
    expect(members.map((m) => m.id)).toContain(winner);
    await eventually(
      async () =>
        (await call(stack, 'GET', `/v1/matters/${id}`, { token: manager })).body.handlerId === winner,
      'the projection naming the winner',
    );
    const claims =
      await stack.sql`select actor_id from matter_events where matter_id = ${id} and type = 'matter.claimed'`;
    expect(claims).toEqual([{ actor_id: winner }]);
  });

  it('refuses a claim by someone outside the group, and a claim of a matter not offered to a group', async () => {
    const { id: groupId } = await team(1);
    const outsider = await createHandler(stack);
    const id = await offer(groupId);
    const res = await claim(id, outsider);
    expect(res.status).toBe(403);
    const direct = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: SOURCE, externalId: randomUUID(), title: 'Direct', handlerId: outsider.id },
    });
    const notGroup = await claim(direct.body.id, outsider);
    expect(notGroup.status).toBe(409);
    expect(notGroup.body.error.code).toBe('NOT_GROUP_MATTER');
  });

  it('gives a released matter back to the group, where another member can claim it and act', async () => {
    const { id: groupId, members } = await team(2);
    const [first, second] = members as [Person, Person];
    const id = await offer(groupId);
    expect((await claim(id, first)).status).toBe(200);
    const notYours = await call(stack, 'POST', `/v1/matters/${id}/release`, {
      token: second.token,
      body: {},
    });
    expect(notYours.status).toBe(403);
    const released = await call(stack, 'POST', `/v1/matters/${id}/release`, {
      token: first.token,
      body: { reason: 'conflict of interest' },
    });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(released.body.handlerId).toBeNull();
    await stack.receiver.waitFor(about(id, 'matter.released', second.id), 'the release at the other member');
    expect((await claim(id, second)).status).toBe(200);
    const done = await call(stack, 'POST', `/v1/matters/${id}/complete`, { token: second.token, body: {} });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    await eventually(async () => {
      const rows = await stack.sql`
        select action, actor_id from audit_log where entity_id = ${id} order by chain_seq`;
      return rows.length >= 5 && rows;
    }, 'the audit rows').then((rows) =>
      expect(rows.map((r) => [r.action, r.actor_id])).toEqual([
        ['matter.assigned', SOURCE],
        ['matter.claimed', first.id],
        ['matter.released', first.id],
        ['matter.claimed', second.id],
        ['matter.completed', second.id],
      ]),
    );
  });

  it('reminds every member while nobody has claimed, then only the claimant', async () => {
    const { id: groupId, members } = await team(2);
    const [first, second] = members as [Person, Person];
    const id = await offer(groupId, { reminderRule: { firstAfter: 'PT1S', every: 'PT1S', maxCount: 10 } });
    await stack.receiver.waitFor(about(id, 'matter.reminder', first.id), 'a reminder at the first member');
    await stack.receiver.waitFor(about(id, 'matter.reminder', second.id), 'a reminder at the second member');
    expect((await claim(id, first)).status).toBe(200);
    const claimedAt = Date.now();
    await eventually(
      async () =>
        stack.receiver
          .for(first.id)
          .some(
            (h) =>
              h.body.matter.id === id &&
              h.body.type === 'matter.reminder' &&
              Date.parse(h.body.sentAt) > claimedAt + 500,
          ),
      'a reminder at the claimant after the claim',
    );
    const late = stack.receiver
      .for(second.id)
      .filter(
        (h) =>
          h.body.matter.id === id &&
          h.body.type === 'matter.reminder' &&
          Date.parse(h.body.sentAt) > claimedAt + 500,
      );
    expect(late).toEqual([]);
  });

  it('escalates an unclaimed matter to the group’s supervisor', async () => {
    const boss = await createHandler(stack);
    const { id: groupId } = await team(2, boss.id);
    const id = await offer(groupId, {
      dueAt: new Date().toISOString(),
      reminderRule: { every: 'PT1H', escalateAfter: 'PT1S' },
    });
    await stack.receiver.waitFor(
      about(id, 'matter.escalated', boss.id),
      'the escalation at the group supervisor',
    );
  });

  it('needs exactly one of a handler and a group, and a group that exists', async () => {
    const h = await createHandler(stack);
    const { id: groupId } = await team(1);
    const both = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: SOURCE, externalId: randomUUID(), title: 'x', handlerId: h.id, groupId },
    });
    expect([both.status, both.body.error.code]).toEqual([400, 'ASSIGNEE_REQUIRED']);
    const neither = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: SOURCE, externalId: randomUUID(), title: 'x' },
    });
    expect([neither.status, neither.body.error.code]).toEqual([400, 'ASSIGNEE_REQUIRED']);
    const ghost = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: SOURCE, externalId: randomUUID(), title: 'x', groupId: 'no-such-team' },
    });
    expect([ghost.status, ghost.body.error.code]).toEqual([422, 'UNKNOWN_GROUP']);
    const [count] =
      await stack.sql`select count(*)::int as n from matters where source = ${SOURCE} and title = 'x'`;
    expect(count!.n).toBe(0);
  });

  it('maintains groups with audited changes and refuses unknown members', async () => {
    const { id: groupId, members } = await team(2);
    const newcomer = await createHandler(stack);
    const res = await call(stack, 'PATCH', `/v1/groups/${groupId}`, {
      token: manager,
      body: { members: [members[0]!.id, newcomer.id], name: 'Renamed' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.members).toEqual([members[0]!.id, newcomer.id].sort());
    const bad = await call(stack, 'PATCH', `/v1/groups/${groupId}`, {
      token: manager,
      body: { members: ['ghost-1'] },
    });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'UNKNOWN_HANDLER']);
    const dup = await call(stack, 'POST', '/v1/groups', {
      token: manager,
      body: { id: groupId, name: 'x', members: [] },
    });
    expect(dup.status).toBe(409);
    const mine = await call(stack, 'GET', '/v1/groups', { token: newcomer.token });
    expect(mine.body.items.map((g: { id: string }) => g.id)).toEqual([groupId]);
    const rows =
      await stack.sql`select action, before, after from audit_log where entity_id = ${groupId} order by chain_seq`;
    expect(rows.map((r) => r.action)).toEqual(['group.created', 'group.updated']);
    expect(rows[1]!.after.members).toContain(newcomer.id);
  });
});
