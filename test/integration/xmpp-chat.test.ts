/**
 * A handler works from their XMPP client: the whole stack (API, worker, Temporal, Postgres) with a real
 * prosody server; the matter arrives as a chat, and chat commands act on it and are answered.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Prosody, startProsody } from '../support/prosody.js';
import { call, createHandler, issueToken, startStack, type TestStack } from '../support/stack.js';
import { Person } from '../support/xmpp-person.js';

const BOT = { username: 'matterflow', password: 'bot-secret' };
const ADA = { username: 'ada', password: 'ada-secret' };
const BOB = { username: 'bob', password: 'bob-secret' };
const STRANGER = { username: 'stranger', password: 'stranger-secret' };

let prosody: Prosody;
let stack: TestStack;
let source: string;
let ada: Person;
let bob: Person;
let adaId: string;
let bobId: string;

async function withXmpp(person: { username: string }, locale: 'en' | 'zh-CN'): Promise<string> {
  const h = await createHandler(stack);
  const res = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
    token: stack.adminToken,
    body: { locale, channels: [{ type: 'xmpp', address: prosody.jid(person.username) }] },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return h.id;
}

async function push(handlerId: string, title: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token: source,
    body: { source: 'loans', externalId: randomUUID(), title, handlerId, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

beforeAll(async () => {
  prosody = await startProsody([BOT, ADA, BOB, STRANGER]);
  stack = await startStack({
    env: {
      XMPP_SERVICE: prosody.service,
      XMPP_JID: prosody.jid(BOT.username),
      XMPP_PASSWORD: BOT.password,
      XMPP_ALLOW_PLAINTEXT: 'true',
    },
  });
  source = await issueToken(stack, 'loans', 'source');
  // Ada reads English; Bob, like every new handler by default, Chinese.
  [adaId, bobId] = [await withXmpp(ADA, 'en'), await withXmpp(BOB, 'zh-CN')];
  [ada, bob] = await Promise.all([new Person(prosody, ADA).start(), new Person(prosody, BOB).start()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([ada?.stop(), bob?.stop()]);
  await stack?.close();
  await prosody?.stop();
});

const bot = () => prosody.jid(BOT.username);
const fromBot = (text: string) => (c: { from: string; body: string }) =>
  c.from.startsWith(bot()) && c.body.includes(text);

describe('working a matter from an XMPP client', () => {
  it('gets the matter and its reminder as chats, lists it, and completes it by the short id that list shows', async () => {
    const id = await push(adaId, 'Approve loan 77', { reminderRule: { every: 'PT2S', maxCount: 1 } });
    await ada.waitFor(fromBot('Approve loan 77'), 'the matter as a chat');
    await ada.waitFor(
      (c) => fromBot('Approve loan 77')(c) && /remind/i.test(c.body),
      'the reminder as a chat',
    );
    await ada.say(bot(), 'list');
    const listed = await ada.waitFor(fromBot('Open matters'), 'the list');
    expect(listed.body).toContain(`${id.slice(0, 8)}  Approve loan 77`);

    await ada.say(bot(), `done ${id.slice(0, 8)} all checked`);
    await ada.waitFor(fromBot('Completed: Approve loan 77'), 'the completion reply');
    const matter = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(matter.body).toMatchObject({ status: 'completed', completedBy: adaId });
    expect(matter.body.events.at(-1)).toMatchObject({
      type: 'matter.completed',
      actorId: adaId,
      data: { comment: 'all checked' },
    });
  });

  it('transfers with a reason, and the new handler gets the matter in their own chat at once', async () => {
    const id = await push(adaId, 'Check collateral 12');
    await ada.waitFor(fromBot('Check collateral 12'), 'the matter as a chat');
    await ada.say(bot(), `transfer ${id} ${bobId} on leave until Monday`);
    await ada.waitFor(fromBot(`Transferred to ${bobId}: Check collateral 12`), 'the transfer reply');
    await bob.waitFor(fromBot('Check collateral 12'), 'the matter at the new handler');
    const matter = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(matter.body).toMatchObject({ status: 'open', handlerId: bobId });
  });

  it('hands a transferred matter back with a reason, and the sender has it again at once', async () => {
    const id = await push(adaId, 'Check collateral 14');
    await ada.waitFor(fromBot('Check collateral 14'), 'the matter as a chat');
    await ada.say(bot(), `transfer ${id} ${bobId} your branch`);
    await bob.waitFor(fromBot('Check collateral 14'), 'the matter at the new handler');
    await bob.say(bot(), `reject ${id.slice(0, 8)} not my product line`);
    await bob.waitFor(
      fromBot(`已退回给 ${adaId}：Check collateral 14`),
      'the reject reply, in Bob’s Chinese',
    );
    await ada.waitFor(
      (c) => fromBot('Check collateral 14')(c) && c.body.includes('Transfer rejected'),
      'the matter back at its sender',
    );
    const matter = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(matter.body).toMatchObject({ status: 'open', handlerId: adaId });
    expect(matter.body.events.at(-1)).toMatchObject({
      type: 'transfer.rejected',
      data: { from: bobId, to: adaId, reason: 'not my product line' },
    });
  });

  it('acknowledges, and files an exception of a known type', async () => {
    const id = await push(adaId, 'Verify KYC 5');
    await ada.waitFor(fromBot('Verify KYC 5'), 'the matter as a chat');
    await ada.say(bot(), `ack ${id}`);
    await ada.waitFor(fromBot('Acknowledged: Verify KYC 5'), 'the acknowledgement reply');
    await ada.say(bot(), `exception ${id} BLOCKED waiting for the customer's documents`);
    await ada.waitFor(fromBot('Exception BLOCKED filed: Verify KYC 5'), 'the filing reply');
    const matter = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(matter.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['matter.acknowledged', 'exception.filed']),
    );
  });

  it('refuses, with the reason, a command on someone else’s matter, and changes nothing', async () => {
    const id = await push(bobId, 'Bob’s own matter');
    await ada.say(bot(), `done ${id}`);
    const refused = await ada.waitFor(fromBot('Refused (NOT_YOUR_MATTER)'), 'the refusal');
    expect(refused.body).toContain('Refused');
    const matter = await call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
    expect(matter.body.status).toBe('open');
  });

  it('answers a zh-CN handler in Chinese: the matter, the list, a completion, a refusal and the usage', async () => {
    const id = await push(bobId, 'Review guarantee 9');
    const notice = await bob.waitFor(fromBot('Review guarantee 9'), 'the matter as a chat');
    expect(notice.body).toContain('[matterflow] 新事项：Review guarantee 9');
    expect(notice.body).toContain(`或回复 "done ${id} [备注]"`);
    await bob.say(bot(), 'list');
    const listed = await bob.waitFor(fromBot('未办结事项'), 'the list');
    expect(listed.body).toContain(`${id.slice(0, 8)}  Review guarantee 9 [普通]`);
    await bob.say(bot(), 'done abc');
    await bob.waitFor(fromBot('已拒绝（AMBIGUOUS_ID）：请至少输入编号的前 6 个字符'), 'the refusal');
    await bob.say(bot(), 'ack');
    await bob.waitFor(fromBot('用法：ack <编号>'), 'the usage text');
    await bob.say(bot(), `done ${id.slice(0, 8)}`);
    await bob.waitFor(fromBot('已完成：Review guarantee 9'), 'the completion reply');
  });

  it('tells a sender who is no handler so, and answers a bad command with its usage', async () => {
    const stranger = await new Person(prosody, STRANGER).start();
    try {
      await stranger.say(bot(), 'list');
      await stranger.waitFor(fromBot('not a matterflow handler'), 'the refusal to a stranger');
    } finally {
      await stranger.stop();
    }
    await ada.say(bot(), 'done');
    await ada.waitFor(fromBot('Usage'), 'the usage text');
  });
});
