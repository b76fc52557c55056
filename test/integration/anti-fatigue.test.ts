/**
 * Reminder caps, digests and channel send limits, with the real activities, real Postgres and a real
 * HTTP receiver; the digest workflow runs on the time-skipping server, so an hour's wait takes no time.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DeliverNoticeInput, DeliveryReport } from '../../src/activities/contracts.js';
import { digestRequester } from '../../src/activities/digest.js';
import { type ActivityDeps, createActivities } from '../../src/activities/index.js';
import { type Channel, channelRegistry } from '../../src/channels/channel.js';
import { webhookChannel } from '../../src/channels/webhook.js';
import { wecomRobotChannel } from '../../src/channels/wecom.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { type ChannelRow, insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import { grantSendSlot } from '../../src/db/send-slots.js';
import type { MatterState } from '../../src/domain/matter.js';
import type { ReminderCaps } from '../../src/domain/reminder-caps.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { digestWorkflowId } from '../../src/workflows/messages.js';
import type { reminderDigestWorkflow } from '../../src/workflows/reminder-digest.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { openMatter } from '../support/matter-state.js';
import { allowingOnly } from '../support/outbound.js';
import { startTimeSkipping } from '../support/time-skipping.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let sql: Sql;
let receiver: WebhookReceiver;
const vendor = useFakeVendor();
const held: { recipientId: string; digestAt: Date }[] = [];

function depsWith(overrides: Partial<ActivityDeps> = {}): ActivityDeps {
  return {
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
    foldReminder: async (recipientId, digestAt) => {
      held.push({ recipientId, digestAt });
    },
    ...overrides,
  };
}

beforeAll(async () => {
  sql = createSql(inject('databaseUrl'), { max: 6 });
  receiver = await new WebhookReceiver(newSecret()).start();
});
afterAll(async () => {
  await receiver.stop();
  await sql.end({ timeout: 5 });
});

/** A handler, by default with a webhook channel on the receiver. */
async function givenHandler(caps: ReminderCaps | null, channels?: ChannelRow[]): Promise<string> {
  const id = `fat-${randomUUID().slice(0, 8)}`;
  await insertHandler(sql, {
    id,
    name: 'Fatigued',
    supervisorId: null,
    timezone: 'UTC',
    locale: 'en',
    quietHours: null,
    reminderCaps: caps,
    channels: channels ?? [{ type: 'webhook', address: receiver.addressFor(id), settings: {} }],
  });
  return id;
}

async function givenMatter(handlerId: string, overrides: Partial<MatterState> = {}) {
  const state = openMatter({
    id: randomUUID(),
    externalId: randomUUID(),
    handlerId,
    title: `Matter ${randomUUID().slice(0, 4)}`,
    createdAt: new Date().toISOString(),
    assignedAt: new Date().toISOString(),
    ...overrides,
  });
  const workflowId = `matter:fat:${state.externalId}`;
  await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
  return { state, workflowId };
}

function reminder(
  m: { state: MatterState; workflowId: string },
  seq: number,
  type: DeliverNoticeInput['type'] = 'matter.reminder',
): DeliverNoticeInput {
  return {
    workflowId: m.workflowId,
    seq,
    type,
    recipient: { kind: 'handler', handlerId: m.state.handlerId! },
    actions: ['complete'],
    issuedAt: new Date().toISOString(),
    state: m.state,
    data: {},
  };
}

const deliver = (deps: ActivityDeps, input: DeliverNoticeInput): Promise<DeliveryReport> =>
  new MockActivityEnvironment({ attempt: 1 }).run(createActivities(deps).deliverNotice, input);

const statuses = async (handlerId: string) =>
  (
    await sql<{ status: string }[]>`
      select status from notifications where recipient_id = ${handlerId} order by id`
  ).map((r) => r.status);

describe('reminder caps across matters', () => {
  it('holds back reminders over the handler’s hourly cap, across matters, and asks for a digest within the hour', async () => {
    const handlerId = await givenHandler({ perHour: 3, perDay: 10 });
    const deps = depsWith();
    const matters = await Promise.all([1, 2, 3, 4, 5].map(() => givenMatter(handlerId)));
    const outcomes: DeliveryReport[] = [];
    for (const m of matters) outcomes.push(await deliver(deps, reminder(m, 2)));
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered', 'digested', 'digested']);
    expect(receiver.for(handlerId)).toHaveLength(3);
    expect(await statuses(handlerId)).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'digested',
      'digested',
    ]);
    const asked = held.filter((h) => h.recipientId === handlerId);
    expect(asked).toHaveLength(2);
    for (const h of asked) {
      expect(h.digestAt.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
      expect(h.digestAt.getTime()).toBeLessThanOrEqual(Date.now() + 60 * 60_000);
    }
  });

  it('counts a reminder that fell back to a second channel once toward the cap', async () => {
    const channels = ['first', 'second'].map((name) => ({
      type: 'webhook',
      address: receiver.addressFor(`fallback-${name}-${randomUUID().slice(0, 6)}`),
      settings: {},
    }));
    const handlerId = await givenHandler({ perHour: 2, perDay: 10 }, channels);
    const refused = channels[0]!.address;
    receiver.respond = (hook) => (refused.endsWith(hook.path) ? 400 : 200);
    try {
      const deps = depsWith();
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => givenMatter(handlerId)));
      expect(await deliver(deps, reminder(a!, 2))).toBe('delivered');
      expect(await deliver(deps, reminder(b!, 2))).toBe('delivered');
      expect(await deliver(deps, reminder(c!, 2))).toBe('digested');
      expect(await statuses(handlerId)).toEqual(['failed', 'delivered', 'failed', 'delivered', 'digested']);
    } finally {
      receiver.respond = () => 200;
    }
  });

  it('never holds back what is not a reminder: an assignment or a transfer goes out over the cap', async () => {
    const handlerId = await givenHandler({ perHour: 1, perDay: 1 });
    const deps = depsWith();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => givenMatter(handlerId)));
    expect(await deliver(deps, reminder(a!, 2))).toBe('delivered');
    expect(await deliver(deps, reminder(b!, 1, 'matter.assigned'))).toBe('delivered');
    expect(await deliver(deps, reminder(c!, 1, 'matter.transferred'))).toBe('delivered');
    expect(await deliver(deps, reminder(c!, 2, 'matter.escalated'))).toBe('digested');
    expect(receiver.for(handlerId).map((h) => h.body.type)).toEqual([
      'matter.reminder',
      'matter.assigned',
      'matter.transferred',
    ]);
  });

  it('lets an urgent rule’s reminders through the cap', async () => {
    const handlerId = await givenHandler({ perHour: 1, perDay: 1 });
    const deps = depsWith();
    const plain = await givenMatter(handlerId);
    const urgent = await givenMatter(handlerId, { reminderRule: { every: 'PT1H', urgent: true } });
    expect(await deliver(deps, reminder(plain, 2))).toBe('delivered');
    expect(await deliver(deps, reminder(urgent, 2))).toBe('delivered');
    expect(await deliver(deps, reminder(plain, 3))).toBe('digested');
  });

  it('uses the deployment’s caps for a handler without caps of their own', async () => {
    const handlerId = await givenHandler(null);
    const deps = depsWith({ reminderCaps: { perHour: 2, perDay: 2 } });
    const m = await givenMatter(handlerId);
    const outcomes = [];
    for (const seq of [2, 3, 4]) outcomes.push(await deliver(deps, reminder(m, seq)));
    expect(outcomes).toEqual(['delivered', 'delivered', 'digested']);
  });

  it('lets exactly the cap through when 20 matters remind the same person at the same moment', async () => {
    const handlerId = await givenHandler({ perHour: 5, perDay: 50 });
    const deps = depsWith();
    const matters = await Promise.all(Array.from({ length: 20 }, () => givenMatter(handlerId)));
    const outcomes = await Promise.all(matters.map((m) => deliver(deps, reminder(m, 2))));
    expect(outcomes.filter((o) => o === 'delivered')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'digested')).toHaveLength(15);
    expect(receiver.for(handlerId)).toHaveLength(5);
  });

  it('a retried reminder that was held back stays held back, is not sent, and asks for its digest again', async () => {
    const handlerId = await givenHandler({ perHour: 1, perDay: 1 });
    const deps = depsWith();
    const m = await givenMatter(handlerId);
    await deliver(deps, reminder(m, 2));
    expect(await deliver(deps, reminder(m, 3))).toBe('digested');
    const before = held.filter((h) => h.recipientId === handlerId).length;
    expect(await deliver(deps, reminder(m, 3))).toBe('digested');
    expect(held.filter((h) => h.recipientId === handlerId).length).toBe(before + 1);
    expect(receiver.for(handlerId)).toHaveLength(1);
    expect(await statuses(handlerId)).toEqual(['delivered', 'digested']);
  });
});

describe('the digest', () => {
  it('sums up every held-back reminder of the open matters in one message, most pressing first, and sends it once', async () => {
    const handlerId = await givenHandler({ perHour: 1, perDay: 1 });
    const deps = depsWith();
    const later = await givenMatter(handlerId, { dueAt: '2027-01-10T00:00:00.000Z', title: 'Later' });
    const sooner = await givenMatter(handlerId, { dueAt: '2027-01-05T00:00:00.000Z', title: 'Sooner' });
    const done = await givenMatter(handlerId, { title: 'Done since' });
    await deliver(deps, reminder(later, 2));
    for (const seq of [3, 4]) expect(await deliver(deps, reminder(later, seq))).toBe('digested');
    expect(await deliver(deps, reminder(sooner, 2, 'matter.escalated'))).toBe('digested');
    expect(await deliver(deps, reminder(done, 2))).toBe('digested');
    await sql`update matters set status = 'completed' where id = ${done.state.id}`;

    const { sendReminderDigest } = createActivities(deps);
    const digestKey = `digest-test:${randomUUID()}`;
    const env = () => new MockActivityEnvironment({ attempt: 1 });
    expect(await env().run(sendReminderDigest, { recipientId: handlerId, digestKey })).toBe('delivered');
    expect(await env().run(sendReminderDigest, { recipientId: handlerId, digestKey })).toBe(
      'already-delivered',
    );

    const digests = receiver.for(handlerId).filter((h) => h.body.type === 'reminder.digest');
    expect(digests).toHaveLength(1);
    expect(digests[0]!.signatureValid).toBe(true);
    expect(digests[0]!.body.matter.title).toBe('Sooner');
    expect(digests[0]!.body.data.digest).toEqual({
      reminders: 3,
      matters: [
        expect.objectContaining({ title: 'Sooner', reminders: 0, escalations: 1 }),
        expect.objectContaining({ title: 'Later', reminders: 2, escalations: 0 }),
      ],
    });
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from notifications
      where recipient_id = ${handlerId} and status = 'digested' and digest_key = ${digestKey}`;
    expect(row!.n).toBe(4);
  });

  it('with nothing held back it sends nothing', async () => {
    const handlerId = await givenHandler({ perHour: 1, perDay: 1 });
    const { sendReminderDigest } = createActivities(depsWith());
    expect(
      await new MockActivityEnvironment().run(sendReminderDigest, {
        recipientId: handlerId,
        digestKey: `digest-test:${randomUUID()}`,
      }),
    ).toBe('nothing-held');
    expect(receiver.for(handlerId)).toHaveLength(0);
  });
});

describe('the digest workflow (time-skipping server, real activities)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await startTimeSkipping();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('sends one digest an hour after the first held-back reminder, for all of them, then ends', async () => {
    const taskQueue = `digest-${randomUUID()}`;
    const deps = depsWith({ foldReminder: digestRequester(env.client, taskQueue) });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      activities: createActivities(deps),
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const handlerId = await givenHandler({ perHour: 2, perDay: 20 });
    const matters = await Promise.all([1, 2, 3, 4, 5].map(() => givenMatter(handlerId)));
    await worker.runUntil(async () => {
      const outcomes = await Promise.all(matters.map((m) => deliver(deps, reminder(m, 2))));
      expect(outcomes.filter((o) => o === 'digested')).toHaveLength(3);
      const run = env.client.workflow.getHandle<typeof reminderDigestWorkflow>(digestWorkflowId(handlerId));
      expect(await run.result()).toBe(1);
    });
    const digests = receiver.for(handlerId).filter((h) => h.body.type === 'reminder.digest');
    expect(digests).toHaveLength(1);
    expect((digests[0]!.body.data.digest as { matters: unknown[] }).matters).toHaveLength(3);
    expect(receiver.for(handlerId)).toHaveLength(3);
  }, 120_000);
});

describe('channel send limits', () => {
  it('grants a Feishu bot’s 5-a-second limit across concurrent workers: 12 sends take two seconds, never 6 in one', async () => {
    const key = `feishu-bot:${randomUUID()}`;
    const limits = [
      { max: 5, perMs: 1000 },
      { max: 100, perMs: 60_000 },
    ];
    const grants = await Promise.all(
      Array.from({ length: 12 }, () => grantSendSlot(sql, key, limits, 10_000)),
    );
    expect(grants.every((g) => g.granted)).toBe(true);
    const slots = (
      await sql<
        { at: Date }[]
      >`select slot_at as at from channel_send_slots where target_key = ${key} order by slot_at`
    ).map((r) => r.at.getTime());
    expect(slots).toHaveLength(12);
    for (const t of slots) expect(slots.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(5);
    expect(slots[11]! - slots[0]!).toBeGreaterThanOrEqual(2000);
  });

  it('a send that would wait long is not granted: the workflow is told how long to sleep instead', async () => {
    const key = `wecom-robot:${randomUUID()}`;
    const limits = [{ max: 20, perMs: 60_000 }];
    for (let i = 0; i < 20; i++) expect((await grantSendSlot(sql, key, limits, 5000)).granted).toBe(true);
    const refused = await grantSendSlot(sql, key, limits, 5000);
    expect(refused.granted).toBe(false);
    expect(refused.waitMs).toBeGreaterThan(55_000);
    expect(refused.waitMs).toBeLessThanOrEqual(60_000);
  });

  it('a burst of 500 reminders to one WeCom robot arrives whole, once each, and no window at the robot holds more than 20', async () => {
    const handlerId = await givenHandler(null, [
      { type: 'wecom-robot', address: 'burst-robot', settings: {} },
    ]);
    // The documented 20 a minute would take 25 minutes for 500; the limit is the channel's data, so 20 in 2 s runs the same code in a minute.
    const WINDOW_MS = 2_000;
    const robot: Channel = {
      ...wecomRobotChannel({ baseUrl: vendor.url, timeoutMs: 2000 }),
      sendLimits: [{ max: 20, perMs: WINDOW_MS }],
    };
    // As WeCom does, the robot refuses a message over its limit, counted on its own clock.
    const arrivals: number[] = [];
    vendor.on('POST', '/cgi-bin/webhook/send', (request) => {
      arrivals.push(request.at);
      const inWindow = arrivals.filter((t) => t > request.at - WINDOW_MS).length;
      return inWindow > 20
        ? { json: { errcode: 45009, errmsg: 'api freq out of limit' } }
        : { json: { errcode: 0, errmsg: 'ok' } };
    });
    const deps = depsWith({ channels: channelRegistry([robot]) });
    const matters = await Promise.all(
      Array.from({ length: 500 }, (_, i) => givenMatter(handlerId, { title: `Burst ${i}` })),
    );
    // As the workflow does: a throttled notice sleeps and asks again.
    const untilSent = async (m: { state: MatterState; workflowId: string }) => {
      for (;;) {
        const r = await deliver(deps, reminder(m, 2));
        if (typeof r !== 'object') return r;
        await new Promise((done) => setTimeout(done, r.throttledForMs));
      }
    };
    const outcomes = await Promise.all(matters.map(untilSent));
    expect(outcomes.every((o) => o === 'delivered')).toBe(true);
    expect(await statuses(handlerId)).toEqual(Array(500).fill('delivered'));

    const received = vendor.requestsTo('POST', '/cgi-bin/webhook/send');
    expect(received.every((r) => r.query.key === 'burst-robot')).toBe(true);
    const titles = received.map((r) => /^### (.*)$/m.exec(r.body.markdown.content)?.[1]);
    expect(titles).toHaveLength(500);
    expect(new Set(titles)).toEqual(new Set(matters.map((m) => m.state.title)));
    const at = received.map((r) => r.at).sort((a, b) => a - b);
    const busiest = Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + WINDOW_MS).length));
    console.info(
      `burst at the robot: ${at.length} received, ${new Set(titles).size} distinct, busiest ${WINDOW_MS} ms window ${busiest}, over ${at.at(-1)! - at[0]!} ms`,
    );
    expect(busiest).toBeLessThanOrEqual(20);
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(24 * WINDOW_MS);
  }, 180_000);

  it('a notice to a robot over its limit comes back throttled, and is sent when asked again', async () => {
    const handlerId = await givenHandler(null);
    const limited: Channel = {
      ...webhookChannel({
        defaultSecret: receiver.secret,
        timeoutMs: 2000,
        outbound: allowingOnly(receiver.url),
      }),
      sendLimits: [{ max: 2, perMs: 6_000 }],
    };
    const deps = depsWith({ channels: channelRegistry([limited]) });
    const matters = await Promise.all([1, 2, 3].map(() => givenMatter(handlerId)));
    const outcomes = [];
    for (const m of matters) outcomes.push(await deliver(deps, reminder(m, 1, 'matter.assigned')));
    expect(outcomes.slice(0, 2)).toEqual(['delivered', 'delivered']);
    const third = outcomes[2] as { throttledForMs: number };
    expect(third.throttledForMs).toBeGreaterThan(5_000);
    // The window, and twice the 600 ms a send may go late: once for its slot, once on its way.
    expect(third.throttledForMs).toBeLessThanOrEqual(6_000 + 2 * 600);
    expect(receiver.for(handlerId)).toHaveLength(2);
    await new Promise((r) => setTimeout(r, third.throttledForMs));
    expect(await deliver(deps, reminder(matters[2]!, 1, 'matter.assigned'))).toBe('delivered');
    expect(receiver.for(handlerId)).toHaveLength(3);
  });
});
