import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let stack: TestStack;
const children: ChildProcess[] = [];
let workerLog = '';

/** A worker in its own process, so the test can SIGKILL it like a crashed pod. */
function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...stack.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    workerLog = (workerLog + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  children.push(child);
  return child;
}

beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.close();
});

describe('when the worker is killed while matters are open', () => {
  it('a new worker carries on: reminders continue and nothing is recorded twice', async () => {
    const handler = await createHandler(stack);
    const source = await issueToken(stack, 'ops', 'source');
    const first = spawnWorker();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(stack, 'POST', '/v1/matters', {
        token: source,
        body: {
          source: 'ops',
          externalId: randomUUID(),
          title: `Reconcile batch ${i}`,
          handlerId: handler.id,
          reminderRule: { firstAfter: 'PT2S', every: 'PT3S', maxCount: 5 },
        },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const remindersFor = (id: string) =>
      stack.receiver.received.filter((h) => h.body.matter.id === id && h.body.type === 'matter.reminder');
    await eventually(
      async () => ids.every((id) => remindersFor(id).length >= 1),
      'a first reminder for each matter',
      60_000,
    );

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    spawnWorker();

    await eventually(
      async () => {
        const rows = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from matters where id in ${stack.sql(ids)} and reminders_sent = 5`;
        return rows[0]!.n === ids.length;
      },
      `every matter reaching its 5th reminder slot (worker output: ${workerLog})`,
      90_000,
    );
    expect(ids.some((id) => remindersFor(id).some((h) => Date.parse(h.body.sentAt) > killedAt))).toBe(true);

    // Each notice goes out after its event is recorded: wait until every event's notice is delivered.
    await eventually(
      async () => {
        const [row] = await stack.sql<{ pending: number }[]>`
          select count(*)::int as pending from matter_events e
          where e.matter_id in ${stack.sql(ids)} and not exists (
            select 1 from notifications n where n.matter_id = e.matter_id and n.seq = e.seq and n.status = 'delivered')`;
        return row!.pending === 0;
      },
      'every event’s notice delivered',
      30_000,
    );
    for (const id of ids) {
      const events = await stack.sql<
        { seq: number; type: string; index: number | null; skipped: number | null }[]
      >`
        select seq, type, (data->>'index')::int as index, (data->>'skipped')::int as skipped
        from matter_events where matter_id = ${id} order by seq`;
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const reminders = events.filter((e) => e.type === 'matter.reminder');
      const indexes = reminders.map((e) => e.index);
      expect(new Set(indexes).size).toBe(indexes.length);
      // Slots missed while no worker ran are folded into the next reminder, never sent in a burst.
      expect(reminders.reduce((sum, e) => sum + 1 + (e.skipped ?? 0), 0)).toBe(5);
      const notifications = await stack.sql<{ key: string; n: number }[]>`
        select idempotency_key as key, count(*)::int as n from notifications where matter_id = ${id} group by 1`;
      expect(notifications.every((n) => n.n === 1)).toBe(true);
      expect(notifications).toHaveLength(1 + reminders.length);
      const delivered = new Set(remindersFor(id).map((h) => h.body.idempotencyKey));
      expect(delivered.size).toBe(reminders.length);
    }
  }, 200_000);
});
