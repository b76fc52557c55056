import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

const create = (channels: unknown[]) =>
  call(stack, 'POST', '/v1/handlers', {
    token: stack.adminToken,
    body: { id: `hc-${randomUUID().slice(0, 8)}`, name: 'Channels', channels },
  });

describe('a handler’s channels', () => {
  it('takes every channel that carries its own address, in order, and never shows a secret', async () => {
    const res = await create([
      { type: 'dingtalk-robot', address: 'a1b2c3d4e5', secret: 'SEC0123456789abcdef' },
      { type: 'feishu-bot', address: '3c1f6a1e-2d4b-4c7e-9a55-0f3b1c2d4e5f', secret: 'feishu-secret-0123' },
      { type: 'wecom-robot', address: '693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa' },
      {
        type: 'teams',
        address: 'https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/run',
      },
      { type: 'webhook', address: 'https://hooks.bank.example/matterflow' },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.channels.map((c: { type: string }) => c.type)).toEqual([
      'dingtalk-robot',
      'feishu-bot',
      'wecom-robot',
      'teams',
      'webhook',
    ]);
    expect(JSON.stringify(res.body)).not.toContain('SEC0123456789abcdef');
  });

  it('refuses an app channel this deployment has no credentials for, naming the field', async () => {
    const res = await create([
      { type: 'webhook', address: 'https://hooks.bank.example/a' },
      { type: 'wecom', address: 'zhangsan' },
    ]);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'CHANNEL_NOT_AVAILABLE',
      details: [{ field: 'body.channels.1.type' }],
    });
  });

  it.each([
    ['a DingTalk robot without its signing secret', { type: 'dingtalk-robot', address: 'a1b2c3' }],
    ['an e-mail address that is not one', { type: 'email', address: 'not-an-address' }],
    ['a Teams webhook that is not a URL', { type: 'teams', address: 'teams-channel' }],
    ['a channel type nobody knows', { type: 'pager', address: '12345' }],
    ['a secret on a channel that takes none', { type: 'wecom-robot', address: 'k1', secret: 'x'.repeat(20) }],
  ])('refuses %s with 400 and writes nothing', async (_what, channel) => {
    const id = `hc-${randomUUID().slice(0, 8)}`;
    const res = await call(stack, 'POST', '/v1/handlers', {
      token: stack.adminToken,
      body: { id, name: 'Bad', channels: [channel] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBeTruthy();
    expect((await call(stack, 'GET', `/v1/handlers/${id}`, { token: stack.adminToken })).status).toBe(404);
  });
});
