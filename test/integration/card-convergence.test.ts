/**
 * Cards already sent are brought up to date when the matter ends: the real activities, real Postgres,
 * and the Slack adapter talking to a stand-in for Slack's Web API on loopback.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { slackChannel } from '../../src/channels/slack.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { FakeVendor } from '../support/fake-vendor.js';
import { openMatter } from '../support/matter-state.js';

let sql: Sql;
let slack: FakeVendor;

beforeAll(async () => {
  sql = createSql(inject('databaseUrl'), { max: 3 });
  slack = await new FakeVendor().start();
});
afterAll(async () => {
  await slack.close();
  await sql.end({ timeout: 5 });
});

const activities = () =>
  createActivities({
    sql,
    channels: channelRegistry([slackChannel({ baseUrl: slack.url, botToken: 'xoxb-test', timeoutMs: 2000 })]),
    publicBaseUrl: 'https://matterflow.example',
    linkSecret: newSecret(48),
    actionLinkTtlMs: 86_400_000,
    reminderCaps: { perHour: 100, perDay: 100 },
    foldReminder: async () => {
      throw new Error('nothing here is over a cap');
    },
  });

describe('cards converge when the matter ends', () => {
  it('replaces the Slack message that carried the buttons with the outcome, once, even when asked twice', async () => {
    const handlerId = `cc-${randomUUID().slice(0, 8)}`;
    await insertHandler(sql, {
      id: handlerId,
      name: '王五',
      supervisorId: null,
      timezone: 'Asia/Shanghai',
      locale: 'zh-CN',
      quietHours: null,
      reminderCaps: null,
      channels: [{ type: 'slack', address: 'U024BE7LH', settings: {} }],
    });
    const state = openMatter({
      id: randomUUID(),
      externalId: randomUUID(),
      handlerId,
      createdAt: new Date().toISOString(),
    });
    const workflowId = `matter:cc:${state.externalId}`;
    await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
    slack.on('POST', '/chat.postMessage', {
      json: { ok: true, channel: 'D024BE91L', ts: '1503435956.000247' },
    });
    slack.on('POST', '/chat.update', { json: { ok: true, channel: 'D024BE91L', ts: '1503435956.000247' } });

    const { deliverNotice, convergeMessages } = activities();
    const env = () => new MockActivityEnvironment({ attempt: 1 });
    expect(
      await env().run(deliverNotice, {
        workflowId,
        seq: 1,
        type: 'matter.assigned' as const,
        recipient: { kind: 'handler' as const, handlerId },
        actions: ['complete' as const, 'transfer' as const, 'exception' as const],
        issuedAt: state.createdAt,
        state,
        data: {},
      }),
    ).toBe('delivered');
    const [row] = await sql<{ ref: Record<string, string> }[]>`
      select vendor_ref as ref from notifications where matter_id = ${state.id}`;
    expect(row!.ref).toEqual({ channel: 'D024BE91L', ts: '1503435956.000247' });

    const outcome = {
      type: 'matter.completed' as const,
      actorId: handlerId,
      occurredAt: '2026-11-29T12:05:00.000Z',
      state: { ...state, status: 'completed' as const, completedBy: handlerId },
      data: { comment: '已核对' },
    };
    expect(await env().run(convergeMessages, outcome)).toBe('converged');
    expect(await env().run(convergeMessages, outcome)).toBe('converged');

    const updates = slack.requestsTo('POST', '/chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body).toMatchObject({ channel: 'D024BE91L', ts: '1503435956.000247' });
    const blocks = JSON.stringify(updates[0]!.body.blocks);
    expect(blocks).not.toContain('"actions"');
    expect(blocks).toContain('Completed by 王五 at 2026-11-29 12:05 UTC');
  });
});
