/**
 * Cards already sent are brought up to date when the matter ends or changes hands: the real activities,
 * real Postgres, and the Slack and WeCom adapters talking to stand-ins for their APIs on loopback.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { LinkAction } from '../../src/activities/contracts.js';
import type { ConvergeInput } from '../../src/activities/converge.js';
import { createActivities } from '../../src/activities/index.js';
import { channelRegistry } from '../../src/channels/channel.js';
import { slackChannel } from '../../src/channels/slack.js';
import { wecomAppChannel } from '../../src/channels/wecom.js';
import { createSql, type Sql } from '../../src/db/client.js';
import { insertHandler } from '../../src/db/handlers.js';
import { reserveMatter } from '../../src/db/matters.js';
import type { MatterEventType, MatterState } from '../../src/domain/matter.js';
import { newSecret } from '../../src/security/secret-hash.js';
import { useFakeVendor } from '../support/fake-vendor.js';
import { openMatter } from '../support/matter-state.js';

let sql: Sql;
const slack = useFakeVendor();
const wecom = useFakeVendor();

beforeAll(() => {
  sql = createSql(inject('databaseUrl'), { max: 3 });
});
afterAll(async () => {
  await sql.end({ timeout: 5 });
});

const SLACK_UPDATE = '/chat.update';
const WECOM_SEND = '/cgi-bin/message/send';
const WECOM_UPDATE = '/cgi-bin/message/update_template_card';
const WECOM_AGENT_ID = 1000002;
const ACTIONS: LinkAction[] = ['complete', 'transfer', 'exception'];
const AT = '2026-11-29T12:05:00.000Z';

/** Each Slack post lands at its own ts, in the order posted. */
const slackPosted = (n: number) => ({ channel: 'D024BE91L', ts: `150343595${n}.000247` });
/** Each WeCom card answers its own response_code, in the order sent. */
const wecomCard = (n: number) => ({
  json: { errcode: 0, errmsg: 'ok', invaliduser: '', msgid: `msg-${n}`, response_code: `rc-${n}` },
});

beforeEach(() => {
  slack
    .on('POST', '/chat.postMessage', ...[1, 2, 3].map((n) => ({ json: { ok: true, ...slackPosted(n) } })))
    .on('POST', SLACK_UPDATE, (r) => ({ json: { ok: true, channel: r.body?.channel, ts: r.body?.ts } }));
  wecom
    .on('GET', '/cgi-bin/gettoken', {
      json: { errcode: 0, errmsg: 'ok', access_token: 'wecom-tok-1', expires_in: 7200 },
    })
    .on('POST', WECOM_SEND, wecomCard(1), wecomCard(2), wecomCard(3))
    .on('POST', WECOM_UPDATE, { json: { errcode: 0, errmsg: 'ok', invaliduser: [] } });
});

const activities = () =>
  createActivities({
    sql,
    channels: channelRegistry([
      slackChannel({ baseUrl: slack.url, botToken: 'xoxb-test', timeoutMs: 2000 }),
      wecomAppChannel({
        baseUrl: wecom.url,
        corpId: 'ww-corp',
        corpSecret: 'app-secret',
        agentId: WECOM_AGENT_ID,
        timeoutMs: 2000,
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

const env = () => new MockActivityEnvironment({ attempt: 1 });

/** A handler whose only channel is the one given. */
async function handlerOn(
  name: string,
  channel: { type: string; address: string },
  locale = 'en',
): Promise<string> {
  const id = `cc-${randomUUID().slice(0, 8)}`;
  await insertHandler(sql, {
    id,
    name,
    supervisorId: null,
    timezone: 'Asia/Shanghai',
    locale,
    quietHours: null,
    reminderCaps: null,
    channels: [{ ...channel, settings: {} }],
  });
  return id;
}

/** A matter on record, held by `handlerId`, with the workflow id its notices are keyed by. */
async function matterHeldBy(handlerId: string): Promise<{ state: MatterState; workflowId: string }> {
  const state = openMatter({
    id: randomUUID(),
    externalId: randomUUID(),
    handlerId,
    createdAt: new Date().toISOString(),
  });
  const workflowId = `matter:cc:${state.externalId}`;
  await reserveMatter(sql, { ...state, workflowId, requestHash: 'x' });
  return { state, workflowId };
}

/** The notice for the event at `seq`, delivered to `handlerId` as the workflow would send it. */
async function deliver(
  matter: { state: MatterState; workflowId: string },
  seq: number,
  type: MatterEventType,
  handlerId: string,
  actions: LinkAction[],
  data: Record<string, unknown> = {},
): Promise<void> {
  const { deliverNotice } = activities();
  const state = { ...matter.state, seq, handlerId };
  const notice = {
    workflowId: matter.workflowId,
    seq,
    type,
    recipient: { kind: 'handler' as const, handlerId },
    actions,
    issuedAt: AT,
    state,
    data,
  };
  expect(await env().run(deliverNotice, notice)).toBe('delivered');
}

/** Converges twice, as a retried activity would: the second run finds nothing left to bring up to date. */
async function converge(input: ConvergeInput): Promise<void> {
  const { convergeMessages } = activities();
  expect(await env().run(convergeMessages, input)).toBe('converged');
  expect(await env().run(convergeMessages, input)).toBe('converged');
}

/** The outcome of a transfer from `from` to `to`, recorded as event `seq`, with the state it left. */
function transfer(
  matter: { state: MatterState },
  seq: number,
  type: 'matter.transferred' | 'transfer.rejected',
  from: string,
  to: string,
): ConvergeInput {
  return {
    type,
    actorId: from,
    occurredAt: AT,
    state: { ...matter.state, seq, handlerId: to, transferCount: seq - 1 },
    data: { from, to, reason: 'not my branch' },
  };
}

/** 张三 on Slack was assigned the matter (seq 1) and transferred it to 王五 on WeCom (seq 2); both were told. */
async function transferredOnSlackToWecom() {
  const zhang = await handlerOn('张三', { type: 'slack', address: 'U024BE7LH' });
  const wang = await handlerOn('王五', { type: 'wecom', address: 'wangwu' });
  const matter = await matterHeldBy(zhang);
  await deliver(matter, 1, 'matter.assigned', zhang, ACTIONS);
  await deliver(matter, 2, 'matter.transferred', wang, ACTIONS, { from: zhang, reason: 'not my branch' });
  return { zhang, wang, matter };
}

describe('cards converge when the matter ends', () => {
  it('replaces the Slack message that carried the buttons with the outcome, once, even when asked twice', async () => {
    const handlerId = await handlerOn('王五', { type: 'slack', address: 'U024BE7LH' });
    const matter = await matterHeldBy(handlerId);
    await deliver(matter, 1, 'matter.assigned', handlerId, ACTIONS);
    const [row] = await sql<{ ref: Record<string, string> }[]>`
      select vendor_ref as ref from notifications where matter_id = ${matter.state.id}`;
    expect(row!.ref).toEqual(slackPosted(1));

    await converge({
      type: 'matter.completed',
      actorId: handlerId,
      occurredAt: AT,
      state: { ...matter.state, seq: 2, status: 'completed', completedBy: handlerId },
      data: { comment: '已核对' },
    });

    const updates = slack.requestsTo('POST', SLACK_UPDATE);
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body).toMatchObject(slackPosted(1));
    const blocks = JSON.stringify(updates[0]!.body.blocks);
    expect(blocks).not.toContain('"actions"');
    expect(blocks).toContain('Completed by 王五 at 2026-11-29 12:05 UTC');
  });

  it('writes the converged card in its reader’s language, keeping the outcome it was completed with', async () => {
    const handlerId = await handlerOn('王五', { type: 'slack', address: 'U024BE7LZ' }, 'zh-CN');
    const matter = await matterHeldBy(handlerId);
    await deliver(matter, 1, 'matter.assigned', handlerId, ACTIONS);

    await converge({
      type: 'matter.completed',
      actorId: handlerId,
      occurredAt: AT,
      state: { ...matter.state, seq: 2, status: 'completed', completedBy: handlerId },
      data: { outcome: '已放款', comment: '已核对' },
    });

    const [update] = slack.requestsTo('POST', SLACK_UPDATE);
    const blocks = JSON.stringify(update!.body.blocks);
    expect(blocks).toContain('王五 于 2026-11-29 12:05 UTC 已完成');
    expect(blocks).toContain('已放款');
    expect(blocks).toContain('无需进一步处理');
    expect(blocks).not.toContain('Completed');
  });

  it('on a transfer, replaces the old holder’s Slack card with whom it went to, by name, and leaves the new holder’s fresh card alone', async () => {
    // The new holder's card went out before the convergence ran, as when a throttled convergence is retried.
    const { zhang, wang, matter } = await transferredOnSlackToWecom();

    await converge(transfer(matter, 2, 'matter.transferred', zhang, wang));

    const updates = slack.requestsTo('POST', SLACK_UPDATE);
    expect(updates).toHaveLength(1);
    expect(updates[0]!.body).toMatchObject({
      ...slackPosted(1),
      text: `Matter transferred: ${matter.state.title}`,
    });
    const blocks = JSON.stringify(updates[0]!.body.blocks);
    expect(blocks).not.toContain('"actions"');
    expect(blocks).toContain('Transferred to 王五 by 张三 at 2026-11-29 12:05 UTC');
    expect(blocks).not.toContain(wang);
    expect(wecom.requestsTo('POST', WECOM_SEND)).toHaveLength(1);
    expect(wecom.requestsTo('POST', WECOM_UPDATE)).toEqual([]);
  });

  it('on a hand-back, greys the new holder’s WeCom card out under the name of the one it went back to, and leaves the card telling them alone', async () => {
    const { zhang, wang, matter } = await transferredOnSlackToWecom();
    await converge(transfer(matter, 2, 'matter.transferred', zhang, wang));
    await deliver(matter, 3, 'transfer.rejected', zhang, ACTIONS, { from: wang, reason: 'not mine' });

    await converge(transfer(matter, 3, 'transfer.rejected', wang, zhang));

    const updates = wecom.requestsTo('POST', WECOM_UPDATE);
    expect(updates).toHaveLength(1);
    expect(updates[0]!.query).toEqual({ access_token: 'wecom-tok-1' });
    expect(updates[0]!.body).toEqual({
      userids: ['wangwu'],
      agentid: WECOM_AGENT_ID,
      response_code: 'rc-1',
      button: { replace_name: 'Handed back to 张三' },
    });
    // Only the transfer's convergence touched Slack: the card telling 张三 it came back is left as sent.
    expect(slack.requestsTo('POST', '/chat.postMessage')).toHaveLength(2);
    expect(slack.requestsTo('POST', SLACK_UPDATE).map((r) => r.body.ts)).toEqual([slackPosted(1).ts]);
  });

  it('on a cancellation, greys out every earlier card saying it was cancelled and by whom, and leaves the cancellation notice alone', async () => {
    const zhang = await handlerOn('张三', { type: 'slack', address: 'U024BE7LH' });
    const matter = await matterHeldBy(zhang);
    await deliver(matter, 1, 'matter.assigned', zhang, ACTIONS);
    await deliver(matter, 2, 'matter.reminder', zhang, ACTIONS);
    const cancelled = { ...matter.state, seq: 3, status: 'cancelled' as const };
    await deliver({ ...matter, state: cancelled }, 3, 'matter.cancelled', zhang, [], {
      reason: 'raised twice',
    });

    await converge({
      type: 'matter.cancelled',
      actorId: 'mgr-wang',
      occurredAt: AT,
      state: cancelled,
      data: { reason: 'raised twice', review: { changeRequestId: randomUUID(), approvedBy: 'rev-li' } },
    });

    const updates = slack.requestsTo('POST', SLACK_UPDATE);
    expect(updates.map((r) => r.body.ts)).toEqual([slackPosted(1).ts, slackPosted(2).ts]);
    for (const update of updates) {
      expect(update.body).toMatchObject({ text: `Matter cancelled: ${matter.state.title}` });
      const blocks = JSON.stringify(update.body.blocks);
      expect(blocks).not.toContain('"actions"');
      expect(blocks).toContain('Cancelled by mgr-wang at 2026-11-29 12:05 UTC');
    }
  });
});
