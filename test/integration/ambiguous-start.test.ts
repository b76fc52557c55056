/**
 * A start whose answer is lost: the engine started the matter's run, then the connection dropped or the
 * deadline passed before the API heard so. The API cannot tell that from a start that never happened, so
 * it answers 503 and keeps the matter; the run records under that matter's id, and the source's resend
 * finds it. A start the engine refused outright leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { type Client, ServiceError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matterService } from '../../src/api/matter-service.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

/** The real engine behind a client whose start fails with `code` after (or instead of) starting the run. */
function engineAnswering(code: number, starts: boolean): Client {
  return {
    withDeadline: <R>(_deadline: number, fn: () => Promise<R>) => fn(),
    workflow: {
      async start(...args: Parameters<Client['workflow']['start']>) {
        if (starts) await stack.temporal.workflow.start(...args);
        throw new ServiceError('Failed to start Workflow', {
          cause: Object.assign(new Error(`${code} gRPC status ${code}`), { code }),
        });
      },
    },
  } as unknown as Client;
}

const serviceOn = (temporal: Client) =>
  matterService({ sql: stack.sql, temporal, taskQueue: stack.config.taskQueue, actionTimeoutMs: 5_000 });

describe('when a matter is created and the engine’s answer to the start is lost', () => {
  it('answers 503, keeps the matter, whose run records under its id, and the resend finds that matter', async () => {
    const handler = await createHandler(stack);
    const source = `amb${randomUUID().slice(0, 6)}`;
    const body = { source, externalId: 'e-1', title: 'Answer lost', handlerId: handler.id };

    await expect(serviceOn(engineAnswering(14, true)).create(body, source)).rejects.toMatchObject({
      statusCode: 503,
      code: 'ENGINE_UNAVAILABLE',
    });
    const [kept] = await stack.sql<{ id: string }[]>`
      select id from matters where source = ${source} and external_id = 'e-1'`;
    expect(kept).toBeDefined();
    await eventually(async () => {
      const [row] = await stack.sql<{ lastSeq: number }[]>`
        select last_seq as "lastSeq" from matters where id = ${kept!.id}`;
      return row!.lastSeq >= 1;
    }, 'the run that did start records its assignment on the kept matter');

    const token = await issueToken(stack, source, 'source');
    const resent = await call(stack, 'POST', '/v1/matters', { token, body });
    expect(resent.status).toBe(200);
    expect(resent.body.id).toBe(kept!.id);

    const events = await stack.sql<{ type: string }[]>`
      select type from matter_events where matter_id = ${kept!.id} order by seq`;
    expect(events.map((e) => e.type)).toEqual(['matter.assigned']);
    await eventually(async () => stack.receiver.for(handler.id).length > 0, 'the assignment notice');
    expect(stack.receiver.for(handler.id)).toHaveLength(1);
  });

  it('the source route’s resend starts the run that never began, on the kept matter', async () => {
    const handler = await createHandler(stack);
    const source = `put${randomUUID().slice(0, 6)}`;
    const definition = { title: 'Engine away', handlerId: handler.id };

    await expect(
      serviceOn(engineAnswering(14, false)).create({ source, externalId: 'e-1', ...definition }, source),
    ).rejects.toMatchObject({ statusCode: 503 });
    const [kept] = await stack.sql<{ id: string }[]>`
      select id from matters where source = ${source} and external_id = 'e-1'`;
    expect(kept).toBeDefined();

    const token = await issueToken(stack, source, 'source');
    const res = await call(stack, 'PUT', `/v1/sources/${source}/matters/e-1`, {
      token,
      body: { version: 1, ...definition },
    });
    expect(res.status).toBe(200);
    await eventually(async () => stack.receiver.for(handler.id).length > 0, 'the assignment notice');
    const events = await stack.sql<{ type: string }[]>`
      select type from matter_events where matter_id = ${kept!.id} order by seq`;
    expect(events.map((e) => e.type)).toEqual(['matter.assigned']);
  });

  it('releases the matter when the engine refused the start, so a changed resend is taken as new', async () => {
    const handler = await createHandler(stack);
    const source = `ref${randomUUID().slice(0, 6)}`;
    const body = { source, externalId: 'e-1', title: 'Refused', handlerId: handler.id };

    await expect(serviceOn(engineAnswering(3, false)).create(body, source)).rejects.toMatchObject({
      statusCode: 503,
    });
    const rows = await stack.sql`select id from matters where source = ${source}`;
    expect(rows).toHaveLength(0);

    const token = await issueToken(stack, source, 'source');
    const resent = await call(stack, 'POST', '/v1/matters', {
      token,
      body: { ...body, title: 'Refused, sent again' },
    });
    expect(resent.status).toBe(201);
  });
});
