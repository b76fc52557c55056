import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/runtime/free-port.js';
import { type DevServer, startDevServer } from '../../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../../src/runtime/tools.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let server: DevServer;
let stack: TestStack;

beforeAll(async () => {
  // The engine suggests a fresh run at 4k events by default; a low limit shows the hand-over quickly.
  server = await startDevServer({
    cli: temporalCliPath(),
    port: await freePort(),
    uiPort: null,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
  });
  stack = await startStack({ temporalAddress: server.address });
});
afterAll(async () => {
  await stack?.close();
  await server?.stop();
});

describe('a matter that stays open long enough to outgrow one run', () => {
  it('continues as new with its state, its reminders and its event sequence intact', async () => {
    const handler = await createHandler(stack);
    const source = await issueToken(stack, 'long', 'source');
    const created = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: {
        source: 'long',
        externalId: randomUUID(),
        title: 'Quarter-end reconciliation',
        handlerId: handler.id,
        reminderRule: { firstAfter: 'PT1S', every: 'PT1S', maxCount: 12 },
      },
    });
    expect(created.status).toBe(201);
    const { id, workflowId } = created.body;
    const handle = stack.temporal.workflow.getHandle(workflowId);
    const firstRunId = (await handle.describe()).runId;

    await eventually(
      async () => (await handle.describe()).runId !== firstRunId,
      'a second run of the matter',
      60_000,
    );
    await eventually(
      async () => {
        const [row] = await stack.sql<
          { n: number }[]
        >`select reminders_sent as n from matters where id = ${id}`;
        return row!.n === 12;
      },
      'all 12 reminders',
      60_000,
    );
    const state = await handle.query('state');
    expect(state).toMatchObject({ id, status: 'open', remindersSent: 12, handlerId: handler.id });

    const done = await call(stack, 'POST', `/v1/matters/${id}/complete`, { token: handler.token, body: {} });
    expect(done.status).toBe(200);
    const events = await stack.sql<{ seq: number; type: string }[]>`
      select seq, type from matter_events where matter_id = ${id} order by seq`;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'matter.assigned')).toHaveLength(1);
    expect(events.at(-1)!.type).toBe('matter.completed');
    expect((await handle.result()).status).toBe('completed');
    const described = await handle.describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.runId).not.toBe(firstRunId);
  }, 150_000);
});
