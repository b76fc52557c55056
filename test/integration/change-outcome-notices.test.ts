import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';
import type { ReceivedWebhook } from '../support/webhook-receiver.js';

let stack: TestStack;
let handler: { id: string; token: string };
const MAKER = `mgr-${randomUUID().slice(0, 8)}`;
const REVIEWER = `rev-${randomUUID().slice(0, 8)}`;
let makerToken: string;
let reviewerToken: string;
const SOURCE = `notice-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  stack = await startStack();
  handler = await createHandler(stack);
  await createHandler(stack, { id: MAKER, name: 'Manager Wang' });
  await createHandler(stack, { id: REVIEWER, name: 'Reviewer Li' });
  makerToken = await issueToken(stack, MAKER, 'manager');
  reviewerToken = await issueToken(stack, REVIEWER, 'reviewer');
});
afterAll(async () => stack?.close());

const propose = (body: unknown, token = makerToken) =>
  call(stack, 'POST', '/v1/change-requests', { token, body });
const decide = (id: string, verdict: 'approve' | 'reject', comment: string, token = reviewerToken) =>
  call(stack, 'POST', `/v1/change-requests/${id}/${verdict}`, { token, body: { comment } });

const addition = (title = 'Check vault ledger') => ({
  kind: 'add',
  reason: 'monthly control',
  matter: { source: SOURCE, externalId: randomUUID(), title, handlerId: handler.id },
});

/** Waits for the request's notice workflow to finish, so every notice it will ever send is in. */
async function noticesSettled(changeRequestId: string) {
  return stack.temporal.workflow.getHandle(`change-outcome:${changeRequestId}`).result();
}

function outcomeNotices(recipientId: string, changeRequestId: string): ReceivedWebhook[] {
  return stack.receiver
    .for(recipientId)
    .filter((h) => h.body.type.startsWith('change.') && h.body.data.changeRequestId === changeRequestId);
}

/** The one outcome notice each of maker and reviewer got for the request: a second would be a duplicate. */
function theNoticeToEach(changeRequestId: string) {
  return (
    [
      [MAKER, 'maker'],
      [REVIEWER, 'reviewer'],
    ] as const
  ).map(([person, role]) => {
    const notices = outcomeNotices(person, changeRequestId);
    expect(notices, `outcome notices to the ${role}`).toHaveLength(1);
    return { person, role, notice: notices[0]! };
  });
}

async function notificationRows(changeRequestId: string) {
  return stack.sql`
    select recipient_id, type, status, matter_id, seq from notifications
    where change_request_id = ${changeRequestId} order by recipient_id`;
}

describe('maker and reviewer are told how a change request ended', () => {
  it('an approval reaches maker and reviewer exactly once each, with the outcome, the comment and the new matter', async () => {
    const proposed = await propose(addition());
    expect(proposed.status).toBe(201);
    const approved = await decide(proposed.body.id, 'approve', 'checked against the ledger');
    expect(approved.status).toBe(200);
    await noticesSettled(proposed.body.id);

    for (const { person, role, notice } of theNoticeToEach(proposed.body.id)) {
      expect(notice.signatureValid).toBe(true);
      expect(notice.body).toMatchObject({
        type: 'change.approved',
        handler: { id: person },
        actions: [],
        matter: { id: approved.body.matterId, title: 'Check vault ledger', handlerId: handler.id },
        data: {
          outcome: 'approved',
          role,
          comment: 'checked against the ledger',
          kind: 'add',
          makerId: MAKER,
          reviewerId: REVIEWER,
          diff: { title: { from: null, to: 'Check vault ledger' } },
        },
      });
    }
    expect(await notificationRows(proposed.body.id)).toEqual([
      { recipient_id: MAKER, type: 'change.approved', status: 'delivered', matter_id: null, seq: null },
      { recipient_id: REVIEWER, type: 'change.approved', status: 'delivered', matter_id: null, seq: null },
    ]);
  });

  it('a rejection reaches maker and reviewer with the comment, showing the addition that never became a matter', async () => {
    const proposed = await propose(addition('Reconcile branch cash'));
    const rejected = await decide(proposed.body.id, 'reject', 'branch closed last month');
    expect(rejected.status).toBe(200);
    await noticesSettled(proposed.body.id);

    for (const { role, notice } of theNoticeToEach(proposed.body.id)) {
      expect(notice.body).toMatchObject({
        type: 'change.rejected',
        matter: {
          id: proposed.body.id,
          source: SOURCE,
          externalId: proposed.body.externalId,
          title: 'Reconcile branch cash',
          status: 'not_created',
        },
        data: { outcome: 'rejected', role, comment: 'branch closed last month' },
      });
    }
  });

  it('a maker without a directory entry gets a no_recipient record, and the reviewer is still told', async () => {
    const ghost = `mgr-ghost-${randomUUID().slice(0, 6)}`;
    const proposed = await propose(addition(), await issueToken(stack, ghost, 'manager'));
    const approved = await decide(proposed.body.id, 'approve', 'fine');
    expect(approved.status).toBe(200);
    const deliveries = await noticesSettled(proposed.body.id);

    expect(deliveries).toEqual([
      { recipientId: ghost, role: 'maker', outcome: 'no-recipient' },
      { recipientId: REVIEWER, role: 'reviewer', outcome: 'delivered' },
    ]);
    const rows = await notificationRows(proposed.body.id);
    expect(rows.map((r) => [r.recipient_id, r.status])).toEqual([
      [ghost, 'no_recipient'],
      [REVIEWER, 'delivered'],
    ]);
    expect(outcomeNotices(REVIEWER, proposed.body.id)[0]!.body.data).toMatchObject({
      outcome: 'approved',
      role: 'reviewer',
      makerId: ghost,
    });
  });

  it('a reviewer in the directory without any channel gets a no_channel record, and the maker is still told', async () => {
    const silent = `rev-silent-${randomUUID().slice(0, 6)}`;
    const created = await call(stack, 'POST', '/v1/handlers', {
      token: stack.adminToken,
      body: { id: silent, name: 'Reviewer without channels', channels: [] },
    });
    expect(created.status).toBe(201);
    const proposed = await propose(addition());
    const rejected = await decide(
      proposed.body.id,
      'reject',
      'duplicate',
      await issueToken(stack, silent, 'reviewer'),
    );
    expect(rejected.status).toBe(200);
    await noticesSettled(proposed.body.id);

    const rows = await notificationRows(proposed.body.id);
    expect(rows.map((r) => [r.recipient_id, r.status])).toEqual([
      [MAKER, 'delivered'],
      [silent, 'no_channel'],
    ]);
    expect(outcomeNotices(MAKER, proposed.body.id)[0]!.body.data).toMatchObject({
      outcome: 'rejected',
      reviewerId: silent,
    });
  });

  it('an approval the matter refuses reaches maker and reviewer as failed, with why', async () => {
    const added = await propose(addition());
    const matterId = (await decide(added.body.id, 'approve', 'ok')).body.matterId as string;
    const proposed = await propose({
      kind: 'modify',
      matterId,
      reason: 'rename',
      changes: { title: 'Check vault ledger (Q2)' },
    });
    expect(proposed.status).toBe(201);
    const completed = await call(stack, 'POST', `/v1/matters/${matterId}/complete`, {
      token: handler.token,
      body: {},
    });
    expect(completed.status).toBe(200);
    const approved = await decide(proposed.body.id, 'approve', 'rename is fine');
    expect(approved.status).toBe(409);
    expect(approved.body.error.code).toBe('CHANGE_NOT_APPLIED');
    await noticesSettled(proposed.body.id);

    for (const { role, notice } of theNoticeToEach(proposed.body.id)) {
      expect(notice.body).toMatchObject({
        type: 'change.failed',
        matter: { id: matterId, title: 'Check vault ledger', status: 'completed' },
        data: {
          outcome: 'failed',
          role,
          kind: 'modify',
          comment: 'rename is fine',
          diff: { title: { from: 'Check vault ledger', to: 'Check vault ledger (Q2)' } },
        },
      });
      expect(notice.body.data.failure).toMatch(/MATTER_NOT_OPEN/);
    }
    expect((await notificationRows(proposed.body.id)).map((r) => r.type)).toEqual([
      'change.failed',
      'change.failed',
    ]);
  });
});
