import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CALLBACK_ID_HEADER,
  CALLBACK_SIGNATURE_HEADER,
  CALLBACK_TIMESTAMP_HEADER,
  verifyCallback,
} from '../../src/callbacks/signature.js';
import { recordMatterEvent } from '../../src/db/events.js';
import type { MatterState } from '../../src/domain/matter.js';
import { stateQuery } from '../../src/workflows/messages.js';
import { call, createHandler, eventually, startStack, type TestStack } from '../support/stack.js';

/**
 * The stack runs with a 200 ms backoff cap instead of 5 min (see test/support/stack.ts), so a few
 * seconds down here stand for an hour: the schedule never waits longer than its cap and keeps trying
 * for CALLBACK_RETRY_FOR (at least 24 h), which test/unit/callback-backoff.test.ts checks for the real
 * settings. What this file shows is that whatever happens while the source is down, nothing is lost.
 */

interface Arrival {
  id: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
  verified: boolean;
}

/**
 * A source system's endpoint, honest about what it saw: it verifies each signature, counts every arrival
 * per callback id, and acknowledges at once (so a duplicate here would be matterflow's fault, not a late
 * acknowledgement). Until `up()` nothing listens on its port: connections are refused.
 */
class CallbackReceiver {
  readonly arrivals: Arrival[] = [];
  status = 200;
  private server: Server | undefined;

  private constructor(
    readonly port: number,
    public secret = '',
  ) {}

  /** On one of the ports every stack may call back (test/support/global-setup.ts). */
  static reserve(index: 0 | 1): CallbackReceiver {
    return new CallbackReceiver(inject('callbackPorts')[index]!);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/matterflow/callbacks`;
  }

  async up(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const check = verifyCallback(
          this.secret,
          {
            timestamp: req.headers[CALLBACK_TIMESTAMP_HEADER] as string | undefined,
            signature: req.headers[CALLBACK_SIGNATURE_HEADER] as string | undefined,
          },
          raw,
          Math.floor(Date.now() / 1000),
        );
        this.arrivals.push({
          id: String(req.headers[CALLBACK_ID_HEADER]),
          headers: req.headers,
          raw,
          body: JSON.parse(raw),
          verified: check.ok,
        });
        res.writeHead(check.ok ? this.status : 401).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const a of this.arrivals) counts.set(a.id, (counts.get(a.id) ?? 0) + 1);
    return counts;
  }

  async down(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let stack: TestStack;
let sourceToken: string;
let manager: string;
let reviewer: string;
let auditor: string;
let h1: { id: string; token: string };
let h2: { id: string; token: string };
const run = randomUUID().slice(0, 6);
const receiver = CallbackReceiver.reserve(0);
const SOURCE = `cb-${run}`;

async function registerSource(code: string, body: Record<string, unknown>) {
  const res = await call(stack, 'POST', '/v1/source-systems', {
    token: stack.adminToken,
    body: { code, name: `Callbacks ${code}`, trusted: true, ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function tokenFor(subject: string, role: string): Promise<string> {
  const res = await call(stack, 'POST', '/v1/tokens', { token: stack.adminToken, body: { subject, role } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.token;
}

async function push(source: string, token = sourceToken): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token,
    body: { source, externalId: randomUUID(), title: `Callback ${source}`, handlerId: h1.id },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function act(token: string, id: string, action: string, body: object): Promise<void> {
  const res = await call(stack, 'POST', `/v1/matters/${id}/${action}`, { token, body });
  expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
}

async function cancel(id: string): Promise<void> {
  const proposed = await call(stack, 'POST', '/v1/change-requests', {
    token: manager,
    body: { kind: 'delete', matterId: id, reason: 'raised twice' },
  });
  expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
  const approved = await call(stack, 'POST', `/v1/change-requests/${proposed.body.id}/approve`, {
    token: reviewer,
    body: { comment: 'checked' },
  });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
}

const outbox = (matterIds: string[]) =>
  stack.sql<
    { id: string; matterId: string; seq: number; eventType: string; status: string; attempts: number }[]
  >`
    select id, matter_id as "matterId", seq, event_type as "eventType", status, attempts
    from callback_outbox where matter_id = any(${matterIds}) order by matter_id, seq`;

beforeAll(async () => {
  stack = await startStack();
  h1 = await createHandler(stack);
  h2 = await createHandler(stack);
  manager = await tokenFor(`cb-mgr-${run}`, 'manager');
  reviewer = await tokenFor(`cb-rev-${run}`, 'reviewer');
  auditor = await tokenFor(`cb-aud-${run}`, 'auditor');
  const saved = await registerSource(SOURCE, { callbackUrl: receiver.url });
  expect(saved.hasCallbackSecret).toBe(true);
  receiver.secret = saved.callbackSecret;
  sourceToken = await tokenFor(SOURCE, 'source');
});
afterAll(async () => {
  await stack?.close();
  await receiver.down();
});

describe('signed callbacks to source systems, from the outbox', () => {
  const matters: Record<'completed' | 'transferred' | 'filed' | 'cancelled', string> = {} as never;

  it('when the source is down while its matters are completed, transferred, filed and cancelled, then once it is up every callback arrives once, signed, and the outbox is empty', async () => {
    matters.completed = await push(SOURCE);
    matters.transferred = await push(SOURCE);
    matters.filed = await push(SOURCE);
    matters.cancelled = await push(SOURCE);
    await act(h1.token, matters.completed, 'complete', { outcome: 'approved' });
    await act(h1.token, matters.transferred, 'transfer', { toHandlerId: h2.id, reason: 'h2 owns it' });
    await act(h1.token, matters.filed, 'exceptions', { eventType: 'OTHER', description: 'ledger mismatch' });
    await cancel(matters.cancelled);
    const ids = Object.values(matters);

    // Down: every callback is written and tried more than once, and none is lost or given up.
    const whileDown = await eventually(async () => {
      const rows = await outbox(ids);
      return rows.length === 4 && rows.every((r) => r.attempts >= 6) && rows;
    }, 'four callbacks, each tried six times while the source is down, the later ones at the cap');
    expect(whileDown.every((r) => r.status === 'pending')).toBe(true);
    expect(receiver.arrivals).toEqual([]);

    await receiver.up();
    const settled = await eventually(async () => {
      const rows = await outbox(ids);
      return rows.every((r) => r.status === 'delivered') && rows;
    }, 'every callback acknowledged once the source is back');

    expect(new Set(settled.map((r) => r.eventType))).toEqual(
      new Set(['matter.completed', 'matter.transferred', 'exception.filed', 'matter.cancelled']),
    );
    const mine = receiver.arrivals.filter((a) => ids.includes(a.body.matter.id));
    const counts = receiver.counts();
    expect(
      settled.map((r) => counts.get(r.id)),
      'each callback id arrived exactly once',
    ).toEqual([1, 1, 1, 1]);
    expect(mine).toHaveLength(4);
    expect(mine.every((a) => a.verified)).toBe(true);
    for (const a of mine) {
      const row = settled.find((r) => r.id === a.id)!;
      expect(a.body).toMatchObject({
        id: row.id,
        type: row.eventType,
        matter: { id: row.matterId, source: SOURCE },
        event: { seq: row.seq, type: row.eventType },
      });
    }
    expect(mine.find((a) => a.body.type === 'matter.transferred')!.body.event.data).toMatchObject({
      to: h2.id,
    });

    const attempts = await stack.sql<
      { outboxId: string; n: number; refused: number; acknowledged: number }[]
    >`
      select outbox_id as "outboxId", count(*)::int as n,
        count(*) filter (where error is not null)::int as refused,
        count(*) filter (where http_status = 200)::int as acknowledged
      from callback_attempts where outbox_id = any(${settled.map((r) => r.id)}) group by outbox_id`;
    expect(attempts).toHaveLength(4);
    for (const a of attempts) {
      expect(a.refused, 'the down period left failed attempts in the log').toBeGreaterThanOrEqual(2);
      expect(a.acknowledged).toBe(1);
      expect(a.n).toBe(settled.find((r) => r.id === a.outboxId)!.attempts);
    }
    const [left] = await stack.sql<{ pending: number }[]>`
      select count(*)::int as pending from callback_outbox where source = ${SOURCE} and status = 'pending'`;
    expect(left!.pending).toBe(0);

    const listed = await call(stack, 'GET', `/v1/source-systems/${SOURCE}/callbacks?status=delivered`, {
      token: auditor,
    });
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.items.map((c: any) => c.id).sort()).toEqual(settled.map((r) => r.id).sort());
    const one = listed.body.items[0];
    expect(one.attemptLog.length).toBe(one.attempts);
    expect(one.attemptLog.at(-1)).toMatchObject({ httpStatus: 200, error: null });
    expect(one.attemptLog[0].error).toMatch(/ECONNREFUSED/);
    const metrics = await call(stack, 'GET', '/metrics');
    expect(metrics.body).toMatch(/^matterflow_callback_outbox_depth\{status="pending"\} \d+$/m);
  });

  it('when the record activity is retried with the same event, then one callback is written', async () => {
    const id = await push(SOURCE);
    await act(h1.token, id, 'complete', {});
    const [{ workflowId }] = (await stack.sql<{ workflowId: string }[]>`
      select workflow_id as "workflowId" from matters where id = ${id}`) as unknown as [
      { workflowId: string },
    ];
    // Once the run has ended, the next sequence number is free for this test's event.
    await stack.temporal.workflow.getHandle(workflowId).result();
    const state = await stack.temporal.workflow.getHandle(workflowId).query<MatterState, []>(stateQuery);
    const event = {
      workflowId,
      seq: state.seq + 1,
      type: 'exception.filed' as const,
      actorId: h1.id,
      occurredAt: new Date().toISOString(),
      data: { eventType: 'OTHER', description: 'filed after completion' },
      state: { ...state, seq: state.seq + 1, exceptionCount: state.exceptionCount + 1 },
    };
    const first = await Promise.all([
      recordMatterEvent(stack.sql, event),
      recordMatterEvent(stack.sql, event),
    ]);
    const again = await recordMatterEvent(stack.sql, event);
    expect([...first].sort()).toEqual([false, true]);
    expect(again).toBe(false);
    const rows =
      await stack.sql`select id from callback_outbox where matter_id = ${id} and seq = ${event.seq}`;
    expect(rows).toHaveLength(1);
    await eventually(
      async () => receiver.counts().get(rows[0]!.id) === 1,
      'the retried event’s one callback to arrive',
    );
  });

  it('when a source has no callback URL, then its events write no callback', async () => {
    const code = `cb-none-${run}`;
    const saved = await registerSource(code, {});
    expect(saved.hasCallbackSecret).toBe(false);
    expect(saved).not.toHaveProperty('callbackSecret');
    const id = await push(code, await tokenFor(code, 'source'));
    await act(h1.token, id, 'complete', {});
    await eventually(async () => {
      const [row] = await stack.sql`select status from matters where id = ${id}`;
      return row?.status === 'completed';
    }, 'the completion to be recorded');
    // The callback would have been written in the completion's own transaction.
    expect(await outbox([id])).toEqual([]);
  });

  it('when a callback secret is set, then no read returns it, and a new version keeps it', async () => {
    const code = `cb-secret-${run}`;
    const secret = `given-secret-${randomUUID()}`;
    const saved = await registerSource(code, { callbackUrl: receiver.url, callbackSecret: secret });
    expect(saved).not.toHaveProperty('callbackSecret');
    const renamed = await registerSource(code, { callbackUrl: receiver.url, name: 'Renamed' });
    expect(renamed).toMatchObject({ version: 2, hasCallbackSecret: true });
    expect(renamed).not.toHaveProperty('callbackSecret');
    for (const path of ['/v1/source-systems', `/v1/source-systems/${code}`]) {
      const res = await call(stack, 'GET', path, { token: stack.adminToken });
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(secret);
      expect(text).not.toContain('callbackSecret"');
      expect(res.body.items.find((s: any) => s.code === code).hasCallbackSecret).toBe(true);
    }
    const [row] = await stack.sql<{ sealed: string }[]>`
      select callback_secret_enc as sealed from source_systems where code = ${code} and version = 2`;
    expect(row!.sealed).not.toContain(secret);
    const audited = await stack.sql`
      select data from audit_log where action = 'source_system.callback_secret_set' and entity_id = ${`${code}@1`}`;
    expect(audited).toEqual([{ data: { how: 'given' } }]);
  });

  it('when a source refuses past the retry budget, then the callback is marked failed and audited, and an admin can send it again', async () => {
    const refusing = CallbackReceiver.reserve(1);
    refusing.status = 503;
    await refusing.up();
    try {
      const code = `cb-fail-${run}`;
      refusing.secret = (await registerSource(code, { callbackUrl: refusing.url })).callbackSecret;
      const id = await push(code, await tokenFor(code, 'source'));
      await act(h1.token, id, 'complete', {});
      const [pending] = await eventually(async () => {
        const rows = await outbox([id]);
        return rows.length === 1 && rows[0]!.attempts >= 2 && rows;
      }, 'the callback refused twice');
      expect(refusing.arrivals.every((a) => a.verified)).toBe(true);
      // A day of refusals, without waiting a day: the budget's start moves back instead.
      await stack.sql`
        update callback_outbox set budget_started_at = now() - interval '25 hours' where id = ${pending!.id}`;
      const [failed] = await eventually(async () => {
        const rows = await outbox([id]);
        return rows[0]!.status === 'failed' && rows;
      }, 'the callback given up');
      const gaveUp = await stack.sql`
        select actor_id, reason from audit_log where action = 'callback.failed' and entity_id = ${failed!.id}`;
      expect(gaveUp).toEqual([{ actor_id: 'system', reason: expect.stringContaining('24 h') }]);
      const listed = await call(stack, 'GET', `/v1/source-systems/${code}/callbacks?status=failed`, {
        token: manager,
      });
      expect(listed.body.items).toHaveLength(1);
      expect(listed.body.items[0]).toMatchObject({
        id: failed!.id,
        lastError: expect.stringContaining('503'),
      });

      refusing.status = 200;
      const retried = await call(stack, 'POST', `/v1/source-systems/${code}/callbacks/${failed!.id}/retry`, {
        token: stack.adminToken,
      });
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body.status).toBe('pending');
      await eventually(
        async () => (await outbox([id]))[0]!.status === 'delivered',
        'the retried callback delivered',
      );
      expect(refusing.arrivals.filter((a) => a.id === failed!.id).at(-1)!.verified).toBe(true);
      const again = await call(stack, 'POST', `/v1/source-systems/${code}/callbacks/${failed!.id}/retry`, {
        token: stack.adminToken,
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CALLBACK_NOT_FAILED');
      const requeued = await stack.sql`
        select actor_id from audit_log where action = 'callback.requeued' and entity_id = ${failed!.id}`;
      expect(requeued).toHaveLength(1);
    } finally {
      await refusing.down();
    }
  });
});
