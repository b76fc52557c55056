import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let manager: string;
let reviewer: string;
let auditor: string;
let handler: { id: string; token: string };
const SOURCE = `ops-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  stack = await startStack();
  manager = await issueToken(stack, 'mgr-wang', 'manager');
  reviewer = await issueToken(stack, 'rev-li', 'reviewer');
  auditor = await issueToken(stack, 'aud-zhao', 'auditor');
  handler = await createHandler(stack);
});
afterAll(async () => stack?.close());

const propose = (body: unknown) => call(stack, 'POST', '/v1/change-requests', { token: manager, body });
const approve = (id: string, token = reviewer) =>
  call(stack, 'POST', `/v1/change-requests/${id}/approve`, { token, body: { comment: 'checked' } });

const reject = (id: string, token = reviewer) =>
  call(stack, 'POST', `/v1/change-requests/${id}/reject`, { token, body: { comment: 'title is fine' } });

interface AuditItem {
  action: string;
  actorId: string;
  reason: string | null;
  before: Record<string, any> | null;
  after: Record<string, any> | null;
  data: Record<string, any>;
  at: string;
}

/** An entity's audit rows in chain order, as an auditor reads them. */
async function trailOf(entityId: string): Promise<AuditItem[]> {
  const res = await call(stack, 'GET', `/v1/audit?entityId=${entityId}&limit=500`, { token: auditor });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items;
}

/** A matter's audit row for an event, once the event is recorded. */
const matterRow = (matterId: string, find: (row: AuditItem) => boolean, what: string) =>
  eventually(async () => (await trailOf(matterId)).find(find), what);

/** A manager's proposal of a new matter; the change request's id. */
async function proposedMatter(extra: Record<string, unknown> = {}): Promise<string> {
  const proposed = await propose({
    kind: 'add',
    reason: 'monthly control',
    matter: {
      source: SOURCE,
      externalId: randomUUID(),
      title: 'Check vault ledger',
      handlerId: handler.id,
      ...extra,
    },
  });
  expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
  return proposed.body.id;
}

/** A matter that went through review, as managers' matters always do. */
async function reviewedMatter(extra: Record<string, unknown> = {}): Promise<string> {
  const approved = await approve(await proposedMatter(extra));
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  return approved.body.matterId;
}

describe('maker-checker review of managers’ changes', () => {
  it('an added matter waits for review, its maker cannot approve it, and another reviewer’s approval starts it', async () => {
    const externalId = randomUUID();
    const proposed = await propose({
      kind: 'add',
      reason: 'new control',
      matter: { source: SOURCE, externalId, title: 'Reconcile branch cash', handlerId: handler.id },
    });
    expect(proposed.status).toBe(201);
    expect(proposed.body).toMatchObject({
      kind: 'add',
      status: 'pending',
      makerId: 'mgr-wang',
      matterId: null,
    });
    expect(proposed.body.diff.title).toEqual({ from: null, to: 'Reconcile branch cash' });
    const [none] =
      await stack.sql`select count(*)::int as n from matters where source = ${SOURCE} and external_id = ${externalId}`;
    expect(none!.n).toBe(0);

    const makerAsReviewer = await issueToken(stack, 'mgr-wang', 'reviewer');
    const self = await approve(proposed.body.id, makerAsReviewer);
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/maker/);

    const approved = await approve(proposed.body.id);
    expect(approved.body).toMatchObject({
      status: 'approved',
      reviewerId: 'rev-li',
      reviewComment: 'checked',
    });
    const matterId = approved.body.matterId as string;
    const assigned = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matterId,
      'the handler’s notice',
    );
    expect(assigned.body.type).toBe('matter.assigned');
    const detail = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: reviewer });
    expect(detail.body.events[0]).toMatchObject({ type: 'matter.assigned', actorId: 'mgr-wang' });

    const twice = await approve(proposed.body.id);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('CHANGE_NOT_PENDING');
  });

  it('a matter a manager pushes through POST /v1/matters waits for review instead of starting', async () => {
    const externalId = randomUUID();
    const pushed = await call(stack, 'POST', '/v1/matters', {
      token: manager,
      body: { source: SOURCE, externalId, title: 'Pushed by a manager', handlerId: handler.id },
    });
    expect(pushed.status).toBe(202);
    expect(pushed.body.status).toBe('pending');
    expect(pushed.headers.get('location')).toBe(`/v1/change-requests/${pushed.body.changeRequestId}`);
    const cr = await call(stack, 'GET', `/v1/change-requests/${pushed.body.changeRequestId}`, {
      token: reviewer,
    });
    expect(cr.body).toMatchObject({ kind: 'add', status: 'pending', makerId: 'mgr-wang', externalId });
    const rows =
      await stack.sql`select 1 from matters where source = ${SOURCE} and external_id = ${externalId}`;
    expect(rows).toHaveLength(0);
  });

  it('an approved new due time re-plans the escalation to the new time', async () => {
    const supervisor = await createHandler(stack);
    const supervised = await createHandler(stack, { supervisorId: supervisor.id });
    const farDue = new Date(Date.now() + 24 * 3600_000).toISOString();
    const matterId = await reviewedMatter({
      handlerId: supervised.id,
      dueAt: farDue,
      reminderRule: { every: 'P1D', escalateAfter: 'PT1S' },
    });
    const newDue = new Date(Date.now() + 2000);
    const proposed = await propose({
      kind: 'modify',
      matterId,
      reason: 'deadline moved',
      changes: { dueAt: newDue.toISOString() },
    });
    expect(proposed.body.diff.dueAt).toEqual({ from: farDue, to: newDue.toISOString() });
    expect((await approve(proposed.body.id)).status).toBe(200);

    const [row] = await stack.sql`select due_at, next_notice_at from matters where id = ${matterId}`;
    expect(row!.due_at.toISOString()).toBe(newDue.toISOString());
    expect(row!.next_notice_at.toISOString()).toBe(new Date(newDue.getTime() + 1000).toISOString());
    const escalation = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matterId && h.body.type === 'matter.escalated',
      'the escalation at the new time',
    );
    expect(escalation.path).toBe(`/hooks/${supervisor.id}`);
    expect(Date.parse(escalation.body.sentAt)).toBeGreaterThanOrEqual(newDue.getTime() + 1000);
    const modified =
      await stack.sql`select actor_id, data from matter_events where matter_id = ${matterId} and type = 'matter.modified'`;
    expect(modified[0]).toMatchObject({
      actor_id: 'mgr-wang',
      data: { reason: 'deadline moved', review: { changeRequestId: proposed.body.id, approvedBy: 'rev-li' } },
    });
  });

  it('an approved delete cancels the run with its reason', async () => {
    const matterId = await reviewedMatter();
    const proposed = await propose({ kind: 'delete', matterId, reason: 'raised twice' });
    expect(proposed.body.diff).toEqual({ status: { from: 'open', to: 'cancelled' } });
    expect((await approve(proposed.body.id)).status).toBe(200);
    const { workflowId } = (
      await stack.sql`select workflow_id as "workflowId" from matters where id = ${matterId}`
    )[0]!;
    const result = await stack.temporal.workflow.getHandle(workflowId).result();
    expect(result.status).toBe('cancelled');
    const cancelled = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matterId && h.body.type === 'matter.cancelled',
      'the cancellation notice',
    );
    expect(cancelled.body).toMatchObject({ data: { reason: 'raised twice' }, actions: [] });
    await eventually(async () => {
      const [row] = await stack.sql`select status from matters where id = ${matterId}`;
      return row!.status === 'cancelled';
    }, 'the projection to show cancelled');
  });

  it('a rejection leaves the matter as it was, and a second pending change is refused, never lost', async () => {
    const matterId = await reviewedMatter();
    const first = await propose({
      kind: 'modify',
      matterId,
      reason: 'rename',
      changes: { title: 'Renamed' },
    });
    expect(first.status).toBe(201);
    const second = await propose({ kind: 'delete', matterId, reason: 'not needed' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({
      code: 'CHANGE_PENDING',
      details: { changeRequestId: first.body.id },
    });

    const noComment = await call(stack, 'POST', `/v1/change-requests/${first.body.id}/reject`, {
      token: reviewer,
      body: {},
    });
    expect(noComment.status).toBe(400);
    const rejected = await call(stack, 'POST', `/v1/change-requests/${first.body.id}/reject`, {
      token: reviewer,
      body: { comment: 'title is fine' },
    });
    expect(rejected.body).toMatchObject({ status: 'rejected', reviewComment: 'title is fine' });
    const [row] = await stack.sql`select title, last_seq from matters where id = ${matterId}`;
    expect(row!.title).toBe('Check vault ledger');
    // The assignment is recorded just after the approval starts the run; nothing else may follow it.
    await eventually(
      async () => (await stack.sql`select 1 from matter_events where matter_id = ${matterId}`).length > 0,
      'the assignment',
    );
    const events = await stack.sql`select type from matter_events where matter_id = ${matterId}`;
    expect(events.map((e) => e.type)).toEqual(['matter.assigned']);

    const queue = await call(stack, 'GET', `/v1/change-requests?matterId=${matterId}`, { token: reviewer });
    expect(queue.body.items.map((c: { status: string }) => c.status)).toEqual(['rejected', 'approved']);
    const asManager = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: manager });
    expect(
      asManager.body.changeRequests.map((c: { kind: string; status: string }) => [c.kind, c.status]),
    ).toEqual([
      ['modify', 'rejected'],
      ['add', 'approved'],
    ]);
    expect(asManager.body.changeRequests[0].diff).toEqual({
      title: { from: 'Check vault ledger', to: 'Renamed' },
    });
    const asHandler = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: handler.token });
    expect(asHandler.body).not.toHaveProperty('changeRequests');
    const trail =
      await stack.sql`select action from audit_log where entity_id = ${first.body.id} order by chain_seq`;
    expect(trail.map((r) => r.action)).toEqual(['change_request.created', 'change_request.rejected']);
  });

  it('an approved change with an effective time takes effect then, not at approval', async () => {
    const matterId = await reviewedMatter();
    const effectiveAt = new Date(Date.now() + 2500);
    const later = await propose({
      kind: 'modify',
      matterId,
      reason: 'new quarter',
      effectiveAt: effectiveAt.toISOString(),
      changes: { title: 'Check vault ledger (Q1)' },
    });
    expect(later.body.effectiveAt).toBe(effectiveAt.toISOString());
    expect((await approve(later.body.id)).status).toBe(200);
    const [now] = await stack.sql`select title from matters where id = ${matterId}`;
    expect(now!.title).toBe('Check vault ledger');
    const modified = await eventually(async () => {
      const rows =
        await stack.sql`select occurred_at from matter_events where matter_id = ${matterId} and type = 'matter.modified'`;
      return rows[0];
    }, 'the change at its effective time');
    expect(modified.occurred_at.getTime()).toBeGreaterThanOrEqual(effectiveAt.getTime());
    const [after] = await stack.sql`select title from matters where id = ${matterId}`;
    expect(after!.title).toBe('Check vault ledger (Q1)');

    const startAt = new Date(Date.now() + 2500);
    const added = await propose({
      kind: 'add',
      reason: 'starts next shift',
      effectiveAt: startAt.toISOString(),
      matter: { source: SOURCE, externalId: randomUUID(), title: 'Night audit', handlerId: handler.id },
    });
    const approved = await approve(added.body.id);
    const newId = approved.body.matterId as string;
    expect(await stack.sql`select 1 from matter_events where matter_id = ${newId}`).toHaveLength(0);
    const assigned = await stack.receiver.waitFor(
      (h) => h.body.matter.id === newId,
      'the delayed matter’s notice',
    );
    expect(Date.parse(assigned.body.sentAt)).toBeGreaterThanOrEqual(startAt.getTime());
    expect(assigned.body.matter.createdAt).toBe(startAt.toISOString());
  });

  it('refuses a change that changes nothing, an unknown handler, and a change to a closed matter', async () => {
    const matterId = await reviewedMatter();
    const same = await propose({
      kind: 'modify',
      matterId,
      reason: 'x',
      changes: { title: 'Check vault ledger' },
    });
    expect(same.status).toBe(400);
    expect(same.body.error.code).toBe('NO_CHANGE');
    const ghost = await propose({ kind: 'modify', matterId, reason: 'x', changes: { handlerId: 'ghost' } });
    expect(ghost.status).toBe(422);
    expect(
      (await call(stack, 'POST', `/v1/matters/${matterId}/complete`, { token: handler.token, body: {} }))
        .status,
    ).toBe(200);
    const closed = await propose({ kind: 'delete', matterId, reason: 'x' });
    expect(closed.status).toBe(409);
    expect(closed.body.error.code).toBe('MATTER_NOT_OPEN');
  });

  it('audits each approval with its reviewer, and each change it makes to the matter before and after', async () => {
    /** Approves a change to the matter, whose own trail then holds its maker's request and the approval. */
    const approvedAsTrailed = async (id: string) => {
      expect((await approve(id)).status).toBe(200);
      expect((await trailOf(id)).map((r) => [r.action, r.actorId])).toEqual([
        ['change_request.created', 'mgr-wang'],
        ['change_request.approved', 'rev-li'],
      ]);
    };
    const farDue = new Date(Date.now() + 24 * 3600_000);
    const added = await proposedMatter({ dueAt: farDue.toISOString() });
    const matterId = (await approve(added)).body.matterId as string;
    const addTrail = await trailOf(added);
    expect(addTrail.map((r) => [r.action, r.actorId])).toEqual([
      ['change_request.created', 'mgr-wang'],
      ['change_request.approved', 'rev-li'],
      ['change_request.applied', 'rev-li'],
    ]);
    expect(addTrail[1]!.reason).toBe('checked');
    expect(addTrail[2]!.after).toEqual({ matterId });
    const assigned = await matterRow(matterId, (r) => r.action === 'matter.assigned', 'the assignment');
    expect(assigned).toMatchObject({
      actorId: 'mgr-wang',
      after: { title: 'Check vault ledger', handlerId: handler.id, status: 'open' },
    });

    const newDue = new Date(Date.now() + 12 * 3600_000);
    const due = await propose({
      kind: 'modify',
      matterId,
      reason: 'deadline moved',
      changes: { dueAt: newDue.toISOString() },
    });
    await approvedAsTrailed(due.body.id);
    const moved = await matterRow(matterId, (r) => r.action === 'matter.modified', 'the new due time');
    expect(moved).toMatchObject({
      actorId: 'mgr-wang',
      reason: 'deadline moved',
      data: { review: { changeRequestId: due.body.id, approvedBy: 'rev-li' } },
    });
    expect(Date.parse(moved.before!.dueAt)).toBe(farDue.getTime());
    expect(Date.parse(moved.after!.dueAt)).toBe(newDue.getTime());

    const effectiveAt = new Date(Date.now() + 2500);
    const renamed = await propose({
      kind: 'modify',
      matterId,
      reason: 'new quarter',
      effectiveAt: effectiveAt.toISOString(),
      changes: { title: 'Check vault ledger (Q1)' },
    });
    await approvedAsTrailed(renamed.body.id);
    const scheduled = await matterRow(matterId, (r) => r.action === 'change.scheduled', 'the held change');
    expect(scheduled).toMatchObject({
      actorId: 'mgr-wang',
      reason: 'new quarter',
      before: { title: 'Check vault ledger' },
      after: { title: 'Check vault ledger' },
      data: { changeRequestId: renamed.body.id, kind: 'modify', effectiveAt: effectiveAt.toISOString() },
    });
    const atItsTime = await matterRow(
      matterId,
      (r) => r.action === 'matter.modified' && r.data.review?.changeRequestId === renamed.body.id,
      'the renaming at its effective time',
    );
    expect(atItsTime).toMatchObject({
      actorId: 'mgr-wang',
      reason: 'new quarter',
      before: { title: 'Check vault ledger' },
      after: { title: 'Check vault ledger (Q1)' },
      data: { review: { approvedBy: 'rev-li' } },
    });
    expect(Date.parse(atItsTime.at)).toBeGreaterThanOrEqual(effectiveAt.getTime());

    const removed = await propose({ kind: 'delete', matterId, reason: 'raised twice' });
    await approvedAsTrailed(removed.body.id);
    const cancelled = await matterRow(matterId, (r) => r.action === 'matter.cancelled', 'the cancellation');
    expect(cancelled).toMatchObject({
      actorId: 'mgr-wang',
      reason: 'raised twice',
      before: { status: 'open' },
      after: { status: 'cancelled' },
      data: { review: { changeRequestId: removed.body.id, approvedBy: 'rev-li' } },
    });
    expect((await trailOf(matterId)).map((r) => r.action)).toEqual([
      'matter.assigned',
      'matter.modified',
      'change.scheduled',
      'matter.modified',
      'matter.cancelled',
    ]);
  });

  it('audits a rejection with its reviewer and comment, and leaves the matter and its trail untouched', async () => {
    const matterId = await reviewedMatter();
    await matterRow(matterId, (r) => r.action === 'matter.assigned', 'the assignment');
    const [before] = await stack.sql`select * from matters where id = ${matterId}`;
    const proposed = await propose({
      kind: 'modify',
      matterId,
      reason: 'rename',
      changes: { title: 'Renamed' },
    });
    expect((await reject(proposed.body.id)).status).toBe(200);
    expect(
      (await trailOf(proposed.body.id)).map((r) => ({
        action: r.action,
        actorId: r.actorId,
        reason: r.reason,
      })),
    ).toEqual([
      { action: 'change_request.created', actorId: 'mgr-wang', reason: 'rename' },
      { action: 'change_request.rejected', actorId: 'rev-li', reason: 'title is fine' },
    ]);
    expect((await trailOf(matterId)).map((r) => r.action)).toEqual(['matter.assigned']);
    const [after] = await stack.sql`select * from matters where id = ${matterId}`;
    expect(after).toEqual(before);
  });

  it('refuses the maker rejecting their own request as it refuses their approving it, and it stays pending', async () => {
    const matterId = await reviewedMatter();
    const proposed = await propose({ kind: 'delete', matterId, reason: 'not needed' });
    const makerAsReviewer = await issueToken(stack, 'mgr-wang', 'reviewer');
    const selfApproval = await approve(proposed.body.id, makerAsReviewer);
    const selfRejection = await reject(proposed.body.id, makerAsReviewer);
    expect(selfRejection.status).toBe(403);
    expect(selfRejection.body.error).toEqual(selfApproval.body.error);
    expect(selfRejection.body.error.message).toMatch(/maker/);
    const cr = await call(stack, 'GET', `/v1/change-requests/${proposed.body.id}`, { token: reviewer });
    expect(cr.body).toMatchObject({ status: 'pending', reviewerId: null });
    expect((await trailOf(proposed.body.id)).map((r) => r.action)).toEqual(['change_request.created']);
  });

  it('an approved new handler gets the matter’s notice, and the old handler’s links no longer act', async () => {
    const successor = await createHandler(stack);
    const matterId = await reviewedMatter();
    const first = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matterId && h.path.endsWith(handler.id),
      'the first handler’s notice',
    );
    const oldLink = first.body.actions.find((a) => a.action === 'complete')!;
    const proposed = await propose({
      kind: 'modify',
      matterId,
      reason: 'moved to another desk',
      changes: { handlerId: successor.id },
    });
    expect(proposed.body.diff.handlerId).toEqual({ from: handler.id, to: successor.id });
    expect((await approve(proposed.body.id)).status).toBe(200);

    const notice = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matterId && h.path.endsWith(successor.id),
      'the new handler’s notice',
    );
    expect(notice.body).toMatchObject({ type: 'matter.assigned', matter: { handlerId: successor.id } });
    expect(notice.body.actions.map((a) => a.action)).toContain('complete');
    const dead = await fetch(oldLink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({}),
    });
    const deadBody = await dead.text();
    expect(dead.status, deadBody).toBe(410);
    expect(JSON.parse(deadBody).error.code).toBe('LINK_REVOKED');
    const byOld = await call(stack, 'POST', `/v1/matters/${matterId}/complete`, {
      token: handler.token,
      body: {},
    });
    expect(byOld.status).toBe(403);
    const newLink = notice.body.actions.find((a) => a.action === 'complete')!;
    const done = await fetch(newLink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({}),
    });
    expect(done.status, await done.clone().text()).toBe(200);
    const [row] = await stack.sql`select status, completed_by from matters where id = ${matterId}`;
    expect(row).toEqual({ status: 'completed', completed_by: successor.id });
  });
});
