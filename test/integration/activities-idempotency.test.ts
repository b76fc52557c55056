import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeliverNoticeInput } from '../../src/activities/contracts.js';
import { createActivities, type MatterActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { webhookChannel } from '../../src/channels/webhook.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import type { MatterState } from '../../src/domain/matter.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { allowingOnly } from '../support/outbound.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let sql: Sql;
let receiver: WebhookReceiver;
let activities: MatterActivities;

beforeAll(async () => {
  sql = createSql(inject('databaseUrl'), { max: 3 });
  receiver = await new WebhookReceiver(newSecret()).start();
  activities = createActivities({
    sql,
    channels: channelRegistry([
      webhookChannel({
        defaultSecret: receiver.secret,
        timeoutMs: 2000,
        outbound: allowingOnly(receiver.url),
      }),
    ]),
    publicBaseUrl: 'https://matterflow.example',
    linkSecret: newSecret(48),
    actionLinkTtlMs: 86_400_000,
    reminderCaps: { perHour: 1000, perDay: 1000 },
    foldReminder: async (recipientId) => {
      throw new Error(`no reminder here should be held back (${recipientId})`);
    },
  });
});
afterAll(async () => {
  await receiver.stop();
  await sql.end({ timeout: 5 });
});

/** A matter row and its handler, as the API would have left them before the workflow runs. */
async function givenMatter(): Promise<{ state: MatterState; workflowId: string }> {
  const handlerId = `act-${randomUUID().slice(0, 8)}`;
  await insertHandler(sql, {
    id: handlerId,
    name: 'Activity Test',
    supervisorId: null,
    timezone: 'UTC',
    locale: 'en',
    quietHours: null,
    reminderCaps: null,
    channels: [{ type: 'webhook', address: receiver.addressFor(handlerId), settings: {} }],
  });
  const now = new Date().toISOString();
  const state: MatterState = {
    id: randomUUID(),
    source: 'act',
    externalId: randomUUID(),
    title: 'Idempotency',
    details: null,
    link: null,
    dueAt: null,
    priority: 'normal',
    reminderRule: { every: 'PT1H' },
    handlerId,
    createdBy: 'test',
    createdAt: now,
    status: 'open',
    assignedAt: now,
    remindersSent: 0,
    escalated: false,
    seq: 1,
    transferCount: 0,
    exceptionCount: 0,
    nextNoticeAt: null,
    completedAt: null,
    completedBy: null,
    outcome: null,
    scheduledChanges: [],
  };
  const workflowId = `matter:act:${state.externalId}`;
  await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
  return { state, workflowId };
}

function notice(workflowId: string, state: MatterState): DeliverNoticeInput {
  return {
    workflowId,
    seq: 1,
    type: 'matter.assigned',
    recipient: { kind: 'handler', handlerId: state.handlerId! },
    actions: ['complete', 'transfer', 'exception'],
    issuedAt: state.createdAt,
    state,
    data: {},
  };
}

describe('activities under Temporal redelivery', () => {
  it('when recordEvent runs twice for one event, then the log and projection hold it once', async () => {
    const { state, workflowId } = await givenMatter();
    const input = {
      workflowId,
      seq: 1,
      type: 'matter.assigned' as const,
      actorId: null,
      occurredAt: state.createdAt,
      data: {},
      state,
    };
    const env = new MockActivityEnvironment();
    await env.run(activities.recordEvent, input);
    await env.run(activities.recordEvent, input);
    const rows = await sql`select seq from matter_events where matter_id = ${state.id}`;
    expect(rows).toHaveLength(1);
    const [matter] = await sql`select last_seq from matters where id = ${state.id}`;
    expect(matter!.last_seq).toBe(1);
  });

  it('when a delivered notice is delivered again, then the receiver gets it once and the links are the same', async () => {
    const { state, workflowId } = await givenMatter();
    const env = new MockActivityEnvironment({ attempt: 1 });
    expect(await env.run(activities.deliverNotice, notice(workflowId, state))).toBe('delivered');
    expect(
      await new MockActivityEnvironment({ attempt: 2 }).run(
        activities.deliverNotice,
        notice(workflowId, state),
      ),
    ).toBe('already-delivered');
    expect(receiver.for(state.handlerId!)).toHaveLength(1);
    const links = await sql`select count(*)::int as n from action_links where matter_id = ${state.id}`;
    expect(links[0]!.n).toBe(3);
  });

  it('when the receiver fails with 500, then the attempt is logged and retried until it succeeds, sent with one key', async () => {
    const { state, workflowId } = await givenMatter();
    let calls = 0;
    receiver.respond = (hook) => (hook.path.endsWith(state.handlerId!) && ++calls === 1 ? 500 : 200);
    const first = new MockActivityEnvironment({ attempt: 1 }).run(
      activities.deliverNotice,
      notice(workflowId, state),
    );
    await expect(first).rejects.toMatchObject({ type: 'DELIVERY_FAILED', nonRetryable: false });
    const [pending] =
      await sql`select status, attempts, last_error from notifications where matter_id = ${state.id}`;
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, last_error: 'receiver answered 500' });
    expect(
      await new MockActivityEnvironment({ attempt: 2 }).run(
        activities.deliverNotice,
        notice(workflowId, state),
      ),
    ).toBe('delivered');
    const [done] =
      await sql`select status, attempts, last_error from notifications where matter_id = ${state.id}`;
    expect(done).toMatchObject({ status: 'delivered', attempts: 2, last_error: null });
    const keys = receiver.for(state.handlerId!).map((h) => h.body.idempotencyKey);
    expect(new Set(keys).size).toBe(1);
    expect(keys).toHaveLength(2);
    receiver.respond = () => 200;
  });

  it('when the receiver refuses the message with 400, then the notice is marked failed and not retried', async () => {
    const { state, workflowId } = await givenMatter();
    receiver.respond = (hook) => (hook.path.endsWith(state.handlerId!) ? 400 : 200);
    const run = new MockActivityEnvironment({ attempt: 1 }).run(
      activities.deliverNotice,
      notice(workflowId, state),
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    const [row] = await sql`select status, attempts from notifications where matter_id = ${state.id}`;
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    const [attempt] =
      await sql`select ok, http_status from notification_attempts na join notifications n on n.id = na.notification_id where n.matter_id = ${state.id}`;
    expect(attempt).toMatchObject({ ok: false, http_status: 400 });
    receiver.respond = () => 200;
  });

  it('when the handler has no supervisor, then an escalation is logged as having no recipient', async () => {
    const { state, workflowId } = await givenMatter();
    const input = {
      ...notice(workflowId, state),
      type: 'matter.escalated' as const,
      recipient: { kind: 'supervisorOf' as const, handlerId: state.handlerId! },
      actions: [],
    };
    expect(await new MockActivityEnvironment().run(activities.deliverNotice, input)).toBe('no-recipient');
    const [row] = await sql`select status, recipient_id from notifications where matter_id = ${state.id}`;
    expect(row).toMatchObject({ status: 'no_recipient', recipient_id: null });
  });
});
