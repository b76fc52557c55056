import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let stack: TestStack;
let auditor: string;

beforeAll(async () => {
  stack = await startStack();
  auditor = await issueToken(stack, 'internal-audit', 'auditor');
});
afterAll(async () => stack?.close());

async function auditOf(entityId: string) {
  const res = await call(stack, 'GET', `/v1/audit?entityId=${entityId}`, { token: auditor });
  expect(res.status).toBe(200);
  return res.body.items as any[];
}

async function verify() {
  const res = await call(stack, 'GET', '/v1/audit/verify', { token: auditor });
  expect(res.status).toBe(200);
  return res.body;
}

async function verifyCli(): Promise<{ code: number; report: any }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/db/audit-verify-cli.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: stack.env.DATABASE_URL },
    });
    return { code: 0, report: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, report: JSON.parse(e.stdout) };
  }
}

/** Edits the log as an intruder with database rights would: with the append-only guard switched off. */
async function asIntruder(change: (tx: any) => Promise<unknown>): Promise<void> {
  await stack.sql.begin(async (tx) => {
    await tx`alter table audit_log disable trigger user`;
    await change(tx);
    await tx`alter table audit_log enable trigger user`;
  });
}

describe('the audit trail', () => {
  it('records who changed what, before and after, for the directory, tokens and every matter event', async () => {
    const alice = await createHandler(stack);
    const bob = await createHandler(stack);
    const source = await issueToken(stack, 'audit-src', 'source');
    const created = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: 'audit-src', externalId: randomUUID(), title: 'Audit me', handlerId: alice.id },
    });
    const id = created.body.id;
    await eventually(async () => (await auditOf(id)).length === 1, 'the assignment in the audit trail');
    const moved = await call(stack, 'POST', `/v1/matters/${id}/transfer`, {
      token: alice.token,
      body: { toHandlerId: bob.id, reason: 'branch closed' },
    });
    expect(moved.status).toBe(200);
    expect(
      (await call(stack, 'POST', `/v1/matters/${id}/complete`, { token: bob.token, body: {} })).status,
    ).toBe(200);

    const rows = await auditOf(id);
    expect(rows.map((r) => r.action)).toEqual(['matter.assigned', 'matter.transferred', 'matter.completed']);
    const [assigned, transferred, completed] = rows;
    expect(assigned).toMatchObject({
      actorId: 'audit-src',
      entityType: 'matter',
      after: { handlerId: alice.id },
    });
    expect(transferred).toMatchObject({
      actorId: alice.id,
      reason: 'branch closed',
      before: { handlerId: alice.id, status: 'open' },
      after: { handlerId: bob.id, status: 'open', transferCount: 1 },
    });
    expect(completed).toMatchObject({
      actorId: bob.id,
      before: { status: 'open' },
      after: { status: 'completed', completedBy: bob.id },
    });
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);

    const [handlerRow] = await auditOf(alice.id);
    expect(handlerRow).toMatchObject({
      actorId: 'admin',
      action: 'handler.created',
      after: { id: alice.id },
    });
    const byBob = await call(stack, 'GET', `/v1/audit?actorId=${bob.id}&entityType=matter`, {
      token: auditor,
    });
    expect(byBob.body.items.map((r: any) => r.action)).toEqual(['matter.completed']);
  });

  it('is readable by admins and auditors only', async () => {
    const handler = await createHandler(stack);
    const denied = await call(stack, 'GET', '/v1/audit', { token: handler.token });
    expect(denied.status).toBe(403);
    expect((await call(stack, 'GET', '/v1/audit/verify', { token: handler.token })).status).toBe(403);
    expect((await call(stack, 'GET', '/v1/audit?limit=1', { token: stack.adminToken })).status).toBe(200);
  });

  it('keeps to the from/to window: rows from its start on, none from its end', async () => {
    const made: { id: string; at: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const handler = await createHandler(stack);
      const [row] = await auditOf(handler.id);
      made.push({ id: handler.id, at: row.at });
      // Rows a few milliseconds apart, so a bound at one row's time leaves its neighbours either side.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [first, second, third] = made;
    const window = await call(
      stack,
      'GET',
      `/v1/audit?entityType=handler&from=${second!.at}&to=${third!.at}&limit=500`,
      { token: auditor },
    );
    expect(window.status).toBe(200);
    const ours = window.body.items
      .map((r: any) => r.entityId)
      .filter((id: string) => made.some((m) => m.id === id));
    expect(ours).toEqual([second!.id]);
    expect(window.body.items.every((r: any) => r.at >= second!.at && r.at < third!.at)).toBe(true);
    expect(Date.parse(first!.at)).toBeLessThan(Date.parse(second!.at));
  });

  it('pages through the chain in order with nextAfter', async () => {
    const first = await call(stack, 'GET', '/v1/audit?limit=2', { token: auditor });
    const second = await call(stack, 'GET', `/v1/audit?limit=2&after=${first.body.nextAfter}`, {
      token: auditor,
    });
    const seqs = [...first.body.items, ...second.body.items].map((r: any) => r.chainSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(4);
  });

  it('detects an altered row and a removed row, naming the first broken link', async () => {
    const handler = await createHandler(stack);
    const [row] = await auditOf(handler.id);
    expect(await verify()).toMatchObject({ ok: true, firstBreak: null });
    expect((await verifyCli()).code).toBe(0);

    const [saved] = await stack.sql<{ row: Record<string, unknown> }[]>`
      select to_jsonb(a) as row from audit_log a where chain_seq = ${row.chainSeq}`;
    const original = saved!.row;
    await asIntruder(
      (tx) => tx`update audit_log set actor_id = 'someone-else' where chain_seq = ${row.chainSeq}`,
    );
    try {
      const report = await verify();
      expect(report.ok).toBe(false);
      expect(report.firstBreak).toMatchObject({ chainSeq: row.chainSeq, problem: 'ROW_ALTERED' });
      const cli = await verifyCli();
      expect(cli.code).toBe(1);
      expect(cli.report.firstBreak.chainSeq).toBe(row.chainSeq);
    } finally {
      await asIntruder(
        (tx) =>
          tx`update audit_log set actor_id = ${original.actor_id as string} where chain_seq = ${row.chainSeq}`,
      );
    }
    expect((await verify()).ok).toBe(true);

    await asIntruder((tx) => tx`delete from audit_log where chain_seq = ${row.chainSeq}`);
    try {
      const report = await verify();
      expect(report.ok).toBe(false);
      expect(report.firstBreak).toMatchObject({ chainSeq: row.chainSeq + 1, problem: 'ROWS_MISSING' });
    } finally {
      await asIntruder(
        (tx) => tx`insert into audit_log overriding system value
          select * from jsonb_populate_record(null::audit_log, ${tx.json(original as never)})`,
      );
    }
    expect((await verify()).ok).toBe(true);
  });
});
