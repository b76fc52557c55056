/** A handler's channels in order: one that fails for good hands the notice to the next. Real activity, Postgres, receiver. */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DELIVERY_MAX_ATTEMPTS, type DeliverNoticeInput } from '../../src/activities/contracts.js';
import { createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { webhookChannel } from '../../src/channels/webhook.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { assignmentNotice, openMatter } from '../support/matter-state.js';
import { allowingOnly } from '../support/outbound.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let sql: Sql;
let receiver: WebhookReceiver;

beforeAll(async () => {
  sql = createSql(inject('databaseUrl'), { max: 3 });
  receiver = await new WebhookReceiver(newSecret()).start();
});
afterAll(async () => {
  await receiver.stop();
  await sql.end({ timeout: 5 });
});

const activities = () =>
  createActivities({
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
    reminderCaps: { perHour: 100, perDay: 100 },
    foldReminder: async () => {
      throw new Error('nothing here is over a cap');
    },
  });

/** A handler with two webhook channels, "first" and "second", and a matter of theirs. */
async function given(): Promise<{
  notice: DeliverNoticeInput;
  first: string;
  second: string;
  matterId: string;
}> {
  const handlerId = `fb-${randomUUID().slice(0, 8)}`;
  const [first, second] = [`${handlerId}-first`, `${handlerId}-second`];
  await insertHandler(sql, {
    id: handlerId,
    name: 'Fallback',
    supervisorId: null,
    timezone: 'UTC',
    locale: 'en',
    quietHours: null,
    reminderCaps: null,
    channels: [first, second].map((p) => ({
      type: 'webhook',
      address: receiver.addressFor(p),
      settings: {},
    })),
  });
  const state = openMatter({
    id: randomUUID(),
    externalId: randomUUID(),
    handlerId,
    createdAt: new Date().toISOString(),
  });
  const workflowId = `matter:fb:${state.externalId}`;
  await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
  const notice = assignmentNotice(workflowId, state);
  return { notice, first, second, matterId: state.id };
}

const rows = async (matterId: string) =>
  (
    await sql<{ channel: string; status: string }[]>`
      select address as channel, status from notifications where matter_id = ${matterId} order by id`
  ).map((r) => [r.channel.split('/').at(-1), r.status]);

const deliver = (notice: DeliverNoticeInput, attempt = 1) =>
  new MockActivityEnvironment({ attempt }).run(activities().deliverNotice, notice);

describe('falling back to the next channel', () => {
  it('sends on the second channel at once when the first refuses the message, and records both', async () => {
    const { notice, first, second, matterId } = await given();
    receiver.respond = (hook) => (hook.path.endsWith(first) ? 400 : 200);
    expect(await deliver(notice)).toBe('delivered');
    expect(receiver.for(first)).toHaveLength(1);
    expect(receiver.for(second)).toHaveLength(1);
    expect(receiver.for(second)[0]!.body.actions).toHaveLength(1);
    expect(await rows(matterId)).toEqual([
      [first, 'failed'],
      [second, 'delivered'],
    ]);
  });

  it('retries a first channel that is down, and moves on only when its retries are spent', async () => {
    const { notice, first, second, matterId } = await given();
    receiver.respond = (hook) => (hook.path.endsWith(first) ? 503 : 200);
    await expect(deliver(notice, 1)).rejects.toMatchObject({ nonRetryable: false });
    expect(receiver.for(second)).toHaveLength(0);
    expect(await deliver(notice, DELIVERY_MAX_ATTEMPTS)).toBe('delivered');
    expect(receiver.for(first)).toHaveLength(2);
    expect(receiver.for(second)).toHaveLength(1);
    expect(await rows(matterId)).toEqual([
      [first, 'failed'],
      [second, 'delivered'],
    ]);
    // Asked again, nothing more is sent anywhere.
    expect(await deliver(notice, DELIVERY_MAX_ATTEMPTS)).toBe('already-delivered');
    expect(receiver.for(first)).toHaveLength(2);
    expect(receiver.for(second)).toHaveLength(1);
  });

  it('gives up, for good, when every channel refuses', async () => {
    const { notice, first, second, matterId } = await given();
    receiver.respond = (hook) => (hook.path.endsWith(first) || hook.path.endsWith(second) ? 400 : 200);
    const err = await deliver(notice).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ nonRetryable: true, type: 'DELIVERY_FAILED' });
    expect(await rows(matterId)).toEqual([
      [first, 'failed'],
      [second, 'failed'],
    ]);
  });
});
