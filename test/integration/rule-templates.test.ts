import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let manager: string;
let source: string;
let handler: { id: string; token: string };
const CODE = `daily-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  stack = await startStack();
  manager = await issueToken(stack, 'mgr-cat', 'manager');
  source = await issueToken(stack, 'cat-src', 'source');
  handler = await createHandler(stack);
});
afterAll(async () => stack?.close());

const save = (rule: unknown) =>
  call(stack, 'POST', '/v1/reminder-rules', {
    token: manager,
    body: { code: CODE, rule, description: 'daily chase' },
  });
const push = (extra: Record<string, unknown>) =>
  call(stack, 'POST', '/v1/matters', {
    token: source,
    body: {
      source: 'cat-src',
      externalId: randomUUID(),
      title: 'Templated',
      handlerId: handler.id,
      ...extra,
    },
  });

describe('reminder rule templates', () => {
  it('are versioned, and a matter keeps the version it was given when the template changes', async () => {
    const v1 = await save({ every: 'P1D', maxCount: 3 });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ code: CODE, version: 1, createdBy: 'mgr-cat' });
    const first = await push({ reminderRuleRef: { code: CODE } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);

    const v2 = await save({ every: 'PT4H', maxCount: 6 });
    expect(v2.body.version).toBe(2);
    const second = await push({ reminderRuleRef: { code: CODE } });
    const pinned = await push({ reminderRuleRef: { code: CODE, version: 1 } });

    const view = async (id: string) =>
      (await call(stack, 'GET', `/v1/matters/${id}`, { token: manager })).body;
    expect(await view(first.body.id)).toMatchObject({
      reminderRule: { every: 'P1D', maxCount: 3 },
      reminderRuleRef: { code: CODE, version: 1 },
    });
    expect(await view(second.body.id)).toMatchObject({
      reminderRule: { every: 'PT4H' },
      reminderRuleRef: { version: 2 },
    });
    expect(await view(pinned.body.id)).toMatchObject({
      reminderRule: { every: 'P1D' },
      reminderRuleRef: { version: 1 },
    });
    const running = await stack.temporal.workflow.getHandle(first.body.workflowId).query('state');
    expect(running).toMatchObject({ reminderRule: { every: 'P1D', maxCount: 3 } });

    const versions = await call(stack, 'GET', `/v1/reminder-rules/${CODE}`, { token: source });
    expect(versions.body.items.map((t: { version: number }) => t.version)).toEqual([2, 1]);
    const latest = await call(stack, 'GET', '/v1/reminder-rules', { token: source });
    expect(latest.body.items.filter((t: { code: string }) => t.code === CODE)).toMatchObject([
      { version: 2 },
    ]);
  });

  it('refuse an unknown template, a rule given both ways, and an invalid rule', async () => {
    const unknown = await push({ reminderRuleRef: { code: 'no-such-rule' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('UNKNOWN_RULE_TEMPLATE');
    const both = await push({ reminderRule: { every: 'PT1H' }, reminderRuleRef: { code: CODE } });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('RULE_AND_TEMPLATE');
    const invalid = await save({ every: 'PT0S' });
    expect(invalid.status).toBe(400);
    expect((await call(stack, 'GET', '/v1/reminder-rules/never-saved', { token: source })).status).toBe(404);
  });

  it('pins the version a reviewer approved for a manager’s new matter', async () => {
    await save({ every: 'P1D' });
    const pushed = await call(stack, 'POST', '/v1/matters', {
      token: manager,
      body: {
        source: 'cat-src',
        externalId: randomUUID(),
        title: 'Reviewed',
        handlerId: handler.id,
        reminderRuleRef: { code: CODE },
      },
    });
    const cr = await call(stack, 'GET', `/v1/change-requests/${pushed.body.changeRequestId}`, {
      token: manager,
    });
    const pinnedVersion = cr.body.proposed.reminderRuleRef.version as number;
    await save({ every: 'PT2H' });
    const reviewer = await issueToken(stack, 'rev-cat', 'reviewer');
    const approved = await call(stack, 'POST', `/v1/change-requests/${cr.body.id}/approve`, {
      token: reviewer,
      body: {},
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const matter = await call(stack, 'GET', `/v1/matters/${approved.body.matterId}`, { token: manager });
    expect(matter.body.reminderRuleRef).toEqual({ code: CODE, version: pinnedVersion });
    expect(matter.body.reminderRule).toEqual({ every: 'P1D' });
  });
});
