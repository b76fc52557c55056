/**
 * A handler's channels in order: one that fails for good, or that this deployment has no configuration
 * for, hands the notice to the next. Real activities, Postgres, receivers; the API reads the delivery log.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_MAX_ATTEMPTS, type DeliverNoticeInput } from '../../src/activities/contracts.js';
import { type ActivityDeps, createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { webhookChannel } from '../../src/channels/webhook.js';
import { decide, insertChangeRequest } from '../../src/db/change-requests.js';
import type { Sql } from '../../src/db/client.js';
import { type ChannelRow, insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { assignmentNotice, openMatter } from '../support/matter-state.js';
import { allowingOnly } from '../support/outbound.js';
import { call, startStack, type TestStack } from '../support/stack.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';

let stack: TestStack;
let sql: Sql;
let receiver: WebhookReceiver;
const vendor = useFakeVendor();

beforeAll(async () => {
  stack = await startStack({ worker: false });
  ({ sql, receiver } = stack);
});
afterAll(async () => stack?.close());

/** The deployment's channels: only webhooks, so a handler's Slack channel is one it cannot send through. */
const activities = (overrides: Partial<ActivityDeps> = {}) =>
  createActivities({
    sql,
    channels: channelRegistry([
      webhookChannel({
        defaultSecret: receiver.secret,
        timeoutMs: 2000,
        outbound: allowingOnly(receiver.url, vendor.url),
      }),
    ]),
    publicBaseUrl: 'https://matterflow.example',
    linkSecret: newSecret(48),
    actionLinkTtlMs: 86_400_000,
    reminderCaps: { perHour: 100, perDay: 100 },
    foldReminder: async () => {
      throw new Error('nothing here is over a cap');
    },
    ...overrides,
  });

const webhookTo = (address: string): ChannelRow => ({ type: 'webhook', address, settings: {} });

/**
 * A handler with two channels, by default webhooks "first" and "second" on the receiver, and a matter
 * of theirs.
 */
async function given(
  channelsOf: (first: string, second: string) => ChannelRow[] = (first, second) => [
    webhookTo(receiver.addressFor(first)),
    webhookTo(receiver.addressFor(second)),
  ],
): Promise<{
  notice: DeliverNoticeInput;
  first: string;
  second: string;
  matterId: string;
  handlerId: string;
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
    channels: channelsOf(first, second),
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
  return { notice, first, second, matterId: state.id, handlerId };
}

/** Delivery records as [the address's last part, status], oldest first. */
const channelsAndStatuses = (records: { address: string; status: string }[]) =>
  records.map((r) => [r.address.split('/').at(-1), r.status]);

const rows = async (matterId: string) =>
  channelsAndStatuses(
    await sql<{ address: string; status: string }[]>`
      select address, status from notifications where matter_id = ${matterId} order by id`,
  );

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

  it('skips a channel this deployment has no configuration for (Slack without SLACK_* settings), records the skip, and sends on the next', async () => {
    const { notice, second, matterId } = await given((_, second) => [
      { type: 'slack', address: 'U0FALLBACK1', settings: {} },
      webhookTo(receiver.addressFor(second)),
    ]);
    receiver.respond = () => 200;
    expect(await deliver(notice)).toBe('delivered');
    expect(receiver.for(second)).toHaveLength(1);
    expect(receiver.for(second)[0]!.body.actions).toHaveLength(1);
    expect(
      await sql`
        select channel_type, address, status, attempts from notifications where matter_id = ${matterId} order by id`,
    ).toEqual([
      { channel_type: 'slack', address: 'U0FALLBACK1', status: 'no_channel', attempts: 0 },
      { channel_type: 'webhook', address: receiver.addressFor(second), status: 'delivered', attempts: 1 },
    ]);
    expect(await deliver(notice)).toBe('already-delivered');
    expect(receiver.for(second)).toHaveLength(1);
  });

  it('records no channel, one skip per channel, when none of the handler’s channels is configured here', async () => {
    const { notice, matterId } = await given(() => [
      { type: 'slack', address: 'U0FALLBACK2', settings: {} },
      { type: 'xmpp', address: 'fallback@chat.example', settings: {} },
    ]);
    expect(await deliver(notice)).toBe('no-channel');
    expect(await rows(matterId)).toEqual([
      ['U0FALLBACK2', 'no_channel'],
      ['fallback@chat.example', 'no_channel'],
    ]);
  });
});

describe('the delivery log', () => {
  it('logs how long every attempt took, and the matter’s notifications in the API show the latest one’s', async () => {
    const { notice, second, matterId } = await given((_, second) => [
      webhookTo(`${vendor.url}/slow`),
      webhookTo(receiver.addressFor(second)),
    ]);
    vendor.on('POST', '/slow', { status: 503, delayMs: 300 });
    receiver.respond = () => 200;
    await expect(deliver(notice, 1)).rejects.toMatchObject({ nonRetryable: false });
    expect(await deliver(notice, DELIVERY_MAX_ATTEMPTS)).toBe('delivered');
    const attempts = await sql<{ address: string; attempt: number; ok: boolean; latencyMs: number }[]>`
      select n.address, a.attempt, a.ok, a.latency_ms as "latencyMs"
      from notification_attempts a join notifications n on n.id = a.notification_id
      where n.matter_id = ${matterId} order by n.id, a.attempt`;
    expect(attempts.map((a) => [a.address.split('/').at(-1), a.attempt, a.ok])).toEqual([
      ['slow', 1, false],
      ['slow', DELIVERY_MAX_ATTEMPTS, false],
      [second, DELIVERY_MAX_ATTEMPTS, true],
    ]);
    // The slow receiver's 300 ms are in its attempts; every attempt ended within the 2 s timeout.
    for (const a of attempts.slice(0, 2)) expect(a.latencyMs).toBeGreaterThanOrEqual(300);
    for (const a of attempts) expect(a.latencyMs).toBeLessThan(2000);
    expect(attempts[2]!.latencyMs).toBeGreaterThanOrEqual(0);

    const detail = await call(stack, 'GET', `/v1/matters/${matterId}`, { token: stack.adminToken });
    expect(detail.status).toBe(200);
    expect(detail.body.notifications).toEqual([
      expect.objectContaining({ status: 'failed', attempts: 2, latencyMs: attempts[1]!.latencyMs }),
      expect.objectContaining({ status: 'delivered', attempts: 1, latencyMs: attempts[2]!.latencyMs }),
    ]);
  });
});

describe('digests and change-request outcomes fall back the same way', () => {
  const run = <I, O>(activity: (input: I) => Promise<O>, input: I) =>
    new MockActivityEnvironment({ attempt: 1 }).run(activity, input);

  it('a digest the first channel refuses goes out on the second, once, and nothing is folded into it after', async () => {
    const { notice, first, second, matterId, handlerId } = await given();
    const held: string[] = [];
    const acts = activities({
      reminderCaps: { perHour: 1, perDay: 1 },
      foldReminder: async (recipientId) => {
        held.push(recipientId);
      },
    });
    const reminder = (seq: number): DeliverNoticeInput => ({ ...notice, seq, type: 'matter.reminder' });
    receiver.respond = () => 200;
    expect(await run(acts.deliverNotice, reminder(2))).toBe('delivered');
    expect(await run(acts.deliverNotice, reminder(3))).toBe('digested');
    expect(held).toEqual([handlerId]);

    receiver.respond = (hook) => (hook.path.endsWith(first) ? 400 : 200);
    const digestKey = `digest-fb:${randomUUID()}`;
    expect(await run(acts.sendReminderDigest, { recipientId: handlerId, digestKey })).toBe('delivered');
    const digestsTo = (who: string) => receiver.for(who).filter((h) => h.body.type === 'reminder.digest');
    expect(digestsTo(first)).toHaveLength(1);
    expect(digestsTo(second)).toHaveLength(1);
    expect(digestsTo(second)[0]!.body.data.digest).toMatchObject({ reminders: 1 });
    const digestRows = async () =>
      channelsAndStatuses(
        await sql<{ address: string; status: string }[]>`
          select address, status from notifications
          where recipient_id = ${handlerId} and type = 'reminder.digest' order by id`,
      );
    expect(await digestRows()).toEqual([
      [first, 'failed'],
      [second, 'delivered'],
    ]);

    // Held back after the digest went out, a reminder waits for the next digest.
    expect(await run(acts.deliverNotice, reminder(4))).toBe('digested');
    expect(await run(acts.sendReminderDigest, { recipientId: handlerId, digestKey })).toBe(
      'already-delivered',
    );
    expect(digestsTo(first)).toHaveLength(1);
    expect(digestsTo(second)).toHaveLength(1);
    const [later] = await sql<{ digestKey: string | null }[]>`
      select digest_key as "digestKey" from notifications where matter_id = ${matterId} and seq = 4`;
    expect(later!.digestKey).toBeNull();
  });

  it('a change request’s outcome the maker’s first channel refuses reaches them on the second, once', async () => {
    const { first, second, handlerId } = await given();
    const made = await insertChangeRequest(sql, {
      kind: 'add',
      matterId: null,
      source: 'fallback',
      externalId: randomUUID(),
      proposed: { title: 'Audit the night safe', handlerId, priority: 'normal' },
      current: null,
      diff: { title: { from: null, to: 'Audit the night safe' } },
      reason: 'quarterly control',
      effectiveAt: null,
      makerId: handlerId,
    });
    if (!('created' in made)) throw new Error('a fresh change request was taken for a pending one');
    const id = made.created.id;
    await decide(sql, id, {
      status: 'rejected',
      reviewerId: `${handlerId}-reviewer`,
      comment: 'next quarter',
    });
    receiver.respond = (hook) => (hook.path.endsWith(first) ? 400 : 200);
    const tell = () =>
      run(activities().deliverChangeOutcome, { changeRequestId: id, recipientId: handlerId, role: 'maker' });

    expect(await tell()).toBe('delivered');
    expect(receiver.for(first)).toHaveLength(1);
    expect(receiver.for(second)).toHaveLength(1);
    expect(receiver.for(second)[0]!.body).toMatchObject({
      type: 'change.rejected',
      handler: { id: handlerId },
      data: { outcome: 'rejected', role: 'maker', comment: 'next quarter' },
    });
    expect(
      channelsAndStatuses(
        await sql<{ address: string; status: string }[]>`
          select address, status from notifications where change_request_id = ${id} order by id`,
      ),
    ).toEqual([
      [first, 'failed'],
      [second, 'delivered'],
    ]);
    expect(await tell()).toBe('already-delivered');
    expect(receiver.for(second)).toHaveLength(1);
  });
});
