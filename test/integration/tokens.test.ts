import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.close());

const issue = (body: Record<string, unknown>) =>
  call(stack, 'POST', '/v1/tokens', { token: stack.adminToken, body });

describe('bearer tokens', () => {
  it('are shown once, listed without their secret, and stop working the moment they are revoked', async () => {
    const handler = await createHandler(stack);
    const issued = await issue({ subject: handler.id, role: 'handler' });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({
      subject: handler.id,
      role: 'handler',
      createdBy: 'admin',
      revokedAt: null,
    });
    const secret = issued.body.token as string;
    expect((await call(stack, 'GET', '/v1/matters', { token: secret })).status).toBe(200);

    const listed = await call(stack, 'GET', `/v1/tokens?subject=${handler.id}`, { token: stack.adminToken });
    expect(listed.body.items.map((t: { id: string }) => t.id)).toContain(issued.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const [stored] = await stack.sql`select token_hash from api_tokens where id = ${issued.body.id}`;
    expect(stored!.token_hash).not.toContain(secret);

    const revoked = await call(stack, 'DELETE', `/v1/tokens/${issued.body.id}`, { token: stack.adminToken });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const refused = await call(stack, 'GET', '/v1/matters', { token: secret });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toEqual({ code: 'UNAUTHENTICATED', message: 'this token is revoked' });

    const again = await call(stack, 'DELETE', `/v1/tokens/${issued.body.id}`, { token: stack.adminToken });
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const trail =
      await stack.sql`select action from audit_log where entity_id = ${issued.body.id} order by chain_seq`;
    expect(trail.map((r) => r.action)).toEqual(['token.issued', 'token.revoked']);
  });

  it('expire at their expiry time', async () => {
    const issued = await issue({
      subject: 'batch-job',
      role: 'source',
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect(issued.status).toBe(201);
    expect((await call(stack, 'GET', '/v1/matters', { token: issued.body.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const expired = await call(stack, 'GET', '/v1/matters', { token: issued.body.token });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toBe('this token is expired');
  });

  it('refuse an expiry in the past, an unknown token id, and callers who are not admins', async () => {
    const past = await issue({ subject: 'x', role: 'source', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe('EXPIRY_IN_PAST');
    const missing = await call(stack, 'DELETE', `/v1/tokens/${randomUUID()}`, { token: stack.adminToken });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TOKEN_NOT_FOUND');
    const handler = await createHandler(stack);
    expect((await call(stack, 'GET', '/v1/tokens', { token: handler.token })).status).toBe(403);
  });
});
