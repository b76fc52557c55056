import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ worker: false, env: { ACTION_TIMEOUT_MS: '1500' } });
});
afterAll(async () => stack?.close());

describe('when no worker serves the matter', () => {
  it('an action answers 503 within the action timeout instead of hanging, and records nothing', async () => {
    const handler = await createHandler(stack);
    const source = await issueToken(stack, 'idle', 'source');
    const created = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: { source: 'idle', externalId: randomUUID(), title: 'Nobody home', handlerId: handler.id },
    });
    expect(created.status).toBe(201);
    const started = Date.now();
    const res = await call(stack, 'POST', `/v1/matters/${created.body.id}/complete`, {
      token: handler.token,
      body: {},
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('ENGINE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(10_000);
    const [row] = await stack.sql`select status, last_seq from matters where id = ${created.body.id}`;
    expect(row).toMatchObject({ status: 'open', last_seq: 0 });
  });
});
