import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalCliPath } from '../../src/runtime/tools.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

const run = promisify(execFile);
let stack: TestStack;
let sourceToken: string;

beforeAll(async () => {
  stack = await startStack();
  sourceToken = await issueToken(stack, 'loans', 'source');
});
afterAll(async () => stack?.close());

async function pushMatter(handlerId: string, extra: Record<string, unknown> = {}) {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: sourceToken,
    body: { source: 'loans', externalId: randomUUID(), title: 'Approve loan 42', handlerId, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; workflowId: string; status: string };
}

async function counts(matterId: string) {
  const [row] = await stack.sql<{ events: number; links: number; used: number }[]>`
    select (select count(*)::int from matter_events where matter_id = ${matterId}) as events,
           (select count(*)::int from action_links where matter_id = ${matterId}) as links,
           (select count(*)::int from action_links where matter_id = ${matterId} and used_at is not null) as used`;
  return row!;
}

async function workflowsMatching(query: string): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [
    'workflow',
    'list',
    '--address',
    stack.config.temporalAddress,
    '--query',
    query,
    '--output',
    'json',
  ]);
  return stdout;
}

const workflowsWithStatus = (status: string, workflowId: string) =>
  workflowsMatching(`MatterStatus="${status}" AND WorkflowId="${workflowId}"`);

describe('a matter pushed through the API', () => {
  it('reaches its handler with the matter and signed action links; GET changes nothing; POST completes it', async () => {
    const handler = await createHandler(stack);
    const matter = await pushMatter(handler.id, {
      details: 'Customer 7781, amount 50,000',
      priority: 'high',
    });
    expect(matter.workflowId).toMatch(/^matter:loans:/);

    const assigned = await stack.receiver.waitFor(
      (h) => h.body.type === 'matter.assigned' && h.body.matter.id === matter.id,
      'matter.assigned',
    );
    expect(assigned.signatureValid).toBe(true);
    expect(assigned.body.matter).toMatchObject({
      title: 'Approve loan 42',
      details: 'Customer 7781, amount 50,000',
    });
    expect(assigned.body.handler.id).toBe(handler.id);
    expect(assigned.body.actions.map((a) => a.action).sort()).toEqual(['complete', 'exception', 'transfer']);
    expect(assigned.headers['idempotency-key']).toBe(assigned.body.idempotencyKey);

    const completeUrl = assigned.body.actions.find((a) => a.action === 'complete')!.url;
    expect(completeUrl.startsWith(`${stack.baseUrl}/a/`)).toBe(true);
    const before = await counts(matter.id);
    const page = await fetch(completeUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('Approve loan 42');
    expect(html).toContain('<form method="post">');
    expect(await counts(matter.id)).toEqual(before);

    const done = await fetch(completeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=approved&comment=checked+collateral',
    });
    expect(done.status).toBe(200);
    // In the handler's language: zh-CN unless the directory says otherwise.
    expect(await done.text()).toContain(`已记录：对事项 ${matter.id} 的办结操作`);

    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ status: 'completed', completedBy: handler.id, outcome: 'approved' });
    expect(detail.body.events.map((e: { type: string }) => e.type)).toEqual([
      'matter.assigned',
      'matter.completed',
    ]);
    expect(detail.body.events[1].data).toEqual({ outcome: 'approved', comment: 'checked collateral' });
    expect(detail.body.events.map((e: { actorId: string }) => e.actorId)).toEqual(['loans', handler.id]);
    await eventually(async () => {
      const d = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
      return (
        d.body.notifications.length === 2 &&
        d.body.notifications.every((n: { status: string }) => n.status === 'delivered')
      );
    }, 'both notifications delivered');

    const result = await stack.temporal.workflow.getHandle(matter.workflowId).result();
    expect(result.status).toBe('completed');
    await eventually(
      async () => (await workflowsWithStatus('completed', matter.workflowId)).includes(matter.workflowId),
      'visibility: MatterStatus="completed"',
    );

    const reuse = await fetch(completeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(reuse.status).toBe(410);
    const reused = ((await reuse.json()) as any).error;
    expect(reused.code).toMatch(/^LINK_(USED|REVOKED)$/);
    // A dead link says who did what, and when.
    expect(reused.details.happened).toMatchObject({ type: 'matter.completed', by: `Handler ${handler.id}` });
    expect(reused.message).toMatch(
      new RegExp(`Completed by Handler ${handler.id} at \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC`),
    );
    const deadPage = await fetch(completeUrl);
    expect(deadPage.status).toBe(410);
    expect(await deadPage.text()).toContain(`Completed by Handler ${handler.id}`);
  });

  it('builds action links from the configured base URL, never from a Host header a request names', async () => {
    const forged = { host: 'attacker.example', 'x-forwarded-host': 'attacker.example' };
    const send = (method: string, url: URL, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(url, { method, headers: { ...headers, ...forged } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const handler = await createHandler(stack);
    const created = await send(
      'POST',
      new URL('/v1/matters', stack.baseUrl),
      { authorization: `Bearer ${sourceToken}`, 'content-type': 'application/json' },
      JSON.stringify({
        source: 'loans',
        externalId: randomUUID(),
        title: 'Host check',
        handlerId: handler.id,
      }),
    );
    expect(created.status, created.text).toBe(201);
    const { id } = JSON.parse(created.text) as { id: string };

    const assigned = await stack.receiver.waitFor(
      (h) => h.body.type === 'matter.assigned' && h.body.matter.id === id,
      'matter.assigned',
    );
    const urls: string[] = assigned.body.actions.map((a: { url: string }) => a.url);
    expect(urls).toHaveLength(3);
    for (const url of urls) expect(url.startsWith(`${stack.baseUrl}/a/`)).toBe(true);
    expect(JSON.stringify(assigned.body)).not.toContain('attacker.example');

    const page = await send('GET', new URL(urls[0]!), {});
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('attacker.example');
  });

  it('transfers to a new handler who is notified at once, and the old links die', async () => {
    const alice = await createHandler(stack);
    const bob = await createHandler(stack);
    const matter = await pushMatter(alice.id);
    const assigned = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matter.id && h.body.type === 'matter.assigned',
      'assigned to alice',
    );
    const transferUrl = assigned.body.actions.find((a) => a.action === 'transfer')!.url;
    const completeUrl = assigned.body.actions.find((a) => a.action === 'complete')!.url;

    const res = await fetch(transferUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ toHandlerId: bob.id, reason: 'on leave' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ handlerId: bob.id, status: 'open' });

    const toBob = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matter.id && h.body.type === 'matter.transferred',
      'transfer notice to bob',
    );
    expect(toBob.path).toBe(`/hooks/${bob.id}`);
    expect(toBob.body.matter.handlerId).toBe(bob.id);
    expect(toBob.body.data).toMatchObject({ from: alice.id, reason: 'on leave' });
    expect(toBob.body.actions).toHaveLength(3);

    const oldLink = await fetch(completeUrl, { headers: { accept: 'application/json' } });
    expect(oldLink.status).toBe(410);
    expect(((await oldLink.json()) as any).error.message).toContain(
      `Transferred to Handler ${bob.id} by Handler ${alice.id}`,
    );
    const aliceTries = await call(stack, 'POST', `/v1/matters/${matter.id}/complete`, {
      token: alice.token,
      body: {},
    });
    expect(aliceTries.status).toBe(403);
    expect(aliceTries.body.error.code).toBe('NOT_YOUR_MATTER');

    const bobCompletes = await call(stack, 'POST', `/v1/matters/${matter.id}/complete`, {
      token: bob.token,
      body: { outcome: 'ok' },
    });
    expect(bobCompletes.status).toBe(200);
    const aliceReads = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: alice.token });
    expect(aliceReads.status).toBe(200);
    expect(aliceReads.body.transferCount).toBe(1);
    expect(aliceReads.body.events.map((e: { type: string }) => e.type)).toEqual([
      'matter.assigned',
      'matter.transferred',
      'matter.completed',
    ]);
  });

  it('records an exception filing and shares it with the supervisor at once', async () => {
    const supervisor = await createHandler(stack);
    const handler = await createHandler(stack, { supervisorId: supervisor.id });
    const matter = await pushMatter(handler.id);
    const res = await call(stack, 'POST', `/v1/matters/${matter.id}/exceptions`, {
      token: handler.token,
      body: {
        eventType: 'DATA_MISMATCH',
        description: 'amount differs from contract',
        fields: { expected: 50000, got: 5000 },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('open');

    const shared = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matter.id && h.body.type === 'exception.filed',
      'exception notice',
    );
    expect(shared.path).toBe(`/hooks/${supervisor.id}`);
    expect(shared.body.data).toMatchObject({
      eventType: 'DATA_MISMATCH',
      description: 'amount differs from contract',
    });
    expect(shared.body.actions).toEqual([]);

    const [filing] =
      await stack.sql`select event_type, description, fields, filed_by from exception_filings where matter_id = ${matter.id}`;
    expect(filing).toMatchObject({
      event_type: 'DATA_MISMATCH',
      filed_by: handler.id,
      fields: { expected: 50000, got: 5000 },
    });
    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: supervisor.token });
    expect(detail.status).toBe(404);
    const asHandler = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(asHandler.body.exceptions).toHaveLength(1);
    expect(asHandler.body.exceptionCount).toBe(1);
  });

  it('creates idempotently: the same body gives the same id, a different body is refused with 409', async () => {
    const handler = await createHandler(stack);
    const body = { source: 'loans', externalId: randomUUID(), title: 'Sign off', handlerId: handler.id };
    const first = await call(stack, 'POST', '/v1/matters', { token: sourceToken, body });
    const again = await call(stack, 'POST', '/v1/matters', { token: sourceToken, body: { ...body } });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const changed = await call(stack, 'POST', '/v1/matters', {
      token: sourceToken,
      body: { ...body, title: 'Other' },
    });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('MATTER_CONFLICT');
    const [row] = await stack.sql`select title from matters where id = ${first.body.id}`;
    expect(row!.title).toBe('Sign off');
    const assigned = await stack.receiver.waitFor((h) => h.body.matter.id === first.body.id, 'assigned');
    await new Promise((r) => setTimeout(r, 500));
    expect(stack.receiver.received.filter((h) => h.body.matter.id === first.body.id)).toHaveLength(1);
    expect(assigned.body.type).toBe('matter.assigned');
  });

  it('reminds the handler by rule and escalates to the supervisor, each notice carrying the matter', async () => {
    const supervisor = await createHandler(stack);
    const handler = await createHandler(stack, { supervisorId: supervisor.id });
    const matter = await pushMatter(handler.id, {
      reminderRule: { firstAfter: 'PT1S', every: 'PT1S', maxCount: 2, escalateAfter: 'PT3S' },
    });
    const reminders = await eventually(async () => {
      const got = stack.receiver
        .for(handler.id)
        .filter((h) => h.body.matter.id === matter.id && h.body.type === 'matter.reminder');
      return got.length === 2 ? got : undefined;
    }, 'two reminders');
    expect(
      reminders.every((r) => r.body.matter.title === 'Approve loan 42' && r.body.actions.length === 3),
    ).toBe(true);
    const escalation = await stack.receiver.waitFor(
      (h) => h.body.matter.id === matter.id && h.body.type === 'matter.escalated',
      'escalation',
    );
    expect(escalation.path).toBe(`/hooks/${supervisor.id}`);
    const [row] = await stack.sql`select reminders_sent, escalated from matters where id = ${matter.id}`;
    expect(row).toMatchObject({ reminders_sent: 2, escalated: true });
    // Ops find it in the Temporal UI with the queries the README shows.
    await eventually(
      async () =>
        (
          await workflowsMatching(
            `MatterStatus="open" AND MatterEscalationLevel >= 1 AND MatterHandler="${handler.id}" AND WorkflowId="${matter.workflowId}"`,
          )
        ).includes(matter.workflowId),
      'the escalated matter by its search attributes',
    );
  });

  it('lists a handler’s matters newest first, filtered and paginated by cursor', async () => {
    const handler = await createHandler(stack);
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await pushMatter(handler.id, { title: `Page ${i}` })).id);
    const page1 = await call(stack, 'GET', '/v1/matters?limit=2&status=open', { token: handler.token });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((m: { id: string }) => m.id)).toEqual([made[2], made[1]]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await call(
      stack,
      'GET',
      `/v1/matters?limit=2&status=open&cursor=${page1.body.nextCursor}`,
      {
        token: handler.token,
      },
    );
    expect(page2.body.items.map((m: { id: string }) => m.id)).toEqual([made[0]]);
    expect(page2.body.nextCursor).toBeNull();
    const asSource = await call(stack, 'GET', `/v1/matters?handlerId=${handler.id}`, { token: sourceToken });
    expect(asSource.body.items).toHaveLength(3);
    const completed = await call(stack, 'GET', '/v1/matters?status=completed', { token: handler.token });
    expect(completed.body.items).toEqual([]);
  });

  it('shows a handler to staff without their channel secrets, and 404 for an unknown one', async () => {
    const manager = await issueToken(stack, 'lifecycle-manager', 'manager');
    const res = await call(stack, 'POST', '/v1/handlers', {
      token: stack.adminToken,
      body: {
        id: `sec-${randomUUID().slice(0, 8)}`,
        name: '王芳',
        timezone: 'Asia/Shanghai',
        channels: [
          { type: 'webhook', address: stack.receiver.addressFor('x'), secret: 'a-very-private-secret' },
        ],
      },
    });
    expect(res.status).toBe(201);
    const shown = await call(stack, 'GET', `/v1/handlers/${res.body.id}`, { token: manager });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      name: '王芳',
      timezone: 'Asia/Shanghai',
      active: true,
      supervisorId: null,
    });
    expect(JSON.stringify(shown.body)).not.toContain('a-very-private-secret');
    const [audit] = await stack.sql`select actor_id, action from audit_log where subject = ${res.body.id}`;
    expect(audit).toMatchObject({ actor_id: 'admin', action: 'handler.created' });
    const missing = await call(stack, 'GET', '/v1/handlers/nobody', { token: manager });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('HANDLER_NOT_FOUND');
  });
});
