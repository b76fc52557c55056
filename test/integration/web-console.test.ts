import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { WebClient } from '../support/web.js';

/**
 * The manager console against the real stack: a manager's form opens a change request (never a matter),
 * the reviewer reads its diff and approves it, the maker cannot approve their own, and who may come in.
 */
let stack: TestStack;
let manager: WebClient;
let reviewer: WebClient;
let admin: WebClient;
let handler: { id: string; token: string };
const SOURCE = `con-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  stack = await startStack();
  handler = await createHandler(stack);
  await issueToken(stack, SOURCE, 'source');
  manager = new WebClient(stack.baseUrl);
  await manager.signIn(await issueToken(stack, `mgr-${randomUUID().slice(0, 6)}`, 'manager'));
  reviewer = new WebClient(stack.baseUrl);
  await reviewer.signIn(await issueToken(stack, `rev-${randomUUID().slice(0, 6)}`, 'reviewer'));
  admin = new WebClient(stack.baseUrl);
  await admin.signIn(stack.adminToken);
});
afterAll(async () => stack?.close());

const newMatterForm = (over: Record<string, string> = {}) => ({
  source: SOURCE,
  externalId: randomUUID(),
  title: `Check loan file ${randomUUID().slice(0, 4)}`,
  details: '',
  link: '',
  due: '',
  timeZone: 'Asia/Shanghai',
  priority: 'high',
  handlerId: handler.id,
  groupId: '',
  ruleTemplate: '',
  ruleJson: '{"every": "PT2H", "maxCount": 3}',
  reason: 'a customer asked',
  intent: 'submit',
  ...over,
});

/** Submits the new-matter form as `web`; the id of the change request it opened. */
async function propose(web: WebClient, form: Record<string, string>): Promise<string> {
  await web.get('/console/matters/new');
  const { res, html } = await web.post('/console/matters/new', form);
  expect(res.status, html.slice(0, 2000)).toBe(303);
  const id = /^\/console\/reviews\/([0-9a-f-]{36})$/.exec(res.headers.get('location') ?? '')?.[1];
  if (!id) throw new Error(`no change request in ${res.headers.get('location')}`);
  return id;
}

const diffRows = (html: string) =>
  [
    ...html.matchAll(
      /<tr class="diff-(\w+)">\s*<th scope="row">([^<]+)<\/th>\s*<td[^>]*><span class="mark">([^<]+)<\/span><\/td>\s*<td class="value"[^>]*>(.*?)<\/td>\s*<td class="value"[^>]*>(.*?)<\/td>/gs,
    ),
  ].map((m) => ({
    change: m[1],
    field: m[2],
    mark: m[3],
    before: m[4]!.replace(/<[^>]+>/g, ''),
    after: m[5]!.replace(/<[^>]+>/g, ''),
  }));

describe('the manager console', () => {
  it('when a manager submits the new-matter form, then a pending change request opens and no matter exists yet', async () => {
    const form = newMatterForm();
    const id = await propose(manager, form);
    const [cr] = await stack.sql<{ status: string; kind: string; proposed: Record<string, unknown> }[]>`
      select status, kind, proposed from change_requests where id = ${id}`;
    expect(cr).toMatchObject({ status: 'pending', kind: 'add' });
    expect(cr!.proposed).toMatchObject({ title: form.title, handlerId: handler.id, priority: 'high' });
    const matters =
      await stack.sql`select 1 from matters where source = ${SOURCE} and external_id = ${form.externalId}`;
    expect(matters, 'a manager’s form must not create the matter before review').toHaveLength(0);
    const page = await manager.get(`/console/reviews/${id}`);
    expect(page.html).toContain('Your change request is waiting for review.');
  });

  it('when the manager presses Preview reminders, then the page lists the planned reminder times and nothing is proposed', async () => {
    const form = newMatterForm({
      intent: 'preview',
      ruleJson: '{"firstAfter": "PT1H", "every": "PT2H", "maxCount": 3}',
    });
    await manager.get('/console/matters/new');
    const before = Date.now();
    const { res, html } = await manager.post('/console/matters/new', form);
    expect(res.status, html.slice(0, 2000)).toBe(200);
    expect(html).toContain('Planned reminders');
    const times = [...html.matchAll(/<time datetime="([^"]+)">/g)].map((m) => Date.parse(m[1]!));
    expect(times, 'three reminders, two hours apart, the first after an hour').toHaveLength(3);
    expect(times[0]! - before).toBeGreaterThanOrEqual(3600_000 - 5000);
    expect(times[1]! - times[0]!).toBe(2 * 3600_000);
    expect(html, 'the form keeps what was typed').toContain(`value="${form.externalId}"`);
    const proposed = await stack.sql`select 1 from change_requests where external_id = ${form.externalId}`;
    expect(proposed).toHaveLength(0);
  });

  it('when the form has mistakes, then each is shown next to its field and nothing is written', async () => {
    const form = newMatterForm({ title: '', link: 'not a link', ruleJson: '{ nope' });
    await manager.get('/console/matters/new');
    const { res, html } = await manager.post('/console/matters/new', form);
    expect(res.status).toBe(400);
    expect(html).toMatch(/<p class="field-error" id="title-error">Fill this in\.<\/p>/);
    expect(html).toMatch(/<p class="field-error" id="ruleJson-error">This is not a JSON object/);
    expect(html).toContain('aria-describedby="ruleJson-hint ruleJson-error"');
    const proposed = await stack.sql`select 1 from change_requests where external_id = ${form.externalId}`;
    expect(proposed).toHaveLength(0);
  });

  it('when a reviewer approves in the queue, then the diff rows were shown and the matter exists, open, in the handler’s inbox', async () => {
    const form = newMatterForm();
    const id = await propose(manager, form);
    const queue = await reviewer.get('/console/reviews');
    expect(queue.html).toContain(`href="/console/reviews/${id}"`);
    const page = await reviewer.get(`/console/reviews/${id}`);
    expect(page.res.status).toBe(200);
    const rows = diffRows(page.html);
    expect(rows).toContainEqual({
      change: 'added',
      field: 'Title',
      mark: 'Added',
      before: '(none)',
      after: form.title,
    });
    expect(rows).toContainEqual({
      change: 'added',
      field: 'Handler',
      mark: 'Added',
      before: '(none)',
      after: handler.id,
    });
    expect(page.html, 'the planned reminders are on the review page').toMatch(
      /Planned reminders[\s\S]*<time datetime=/,
    );
    const decided = await reviewer.post(`/console/reviews/${id}/approve`, { comment: 'fine' });
    expect(decided.res.status, decided.html.slice(0, 2000)).toBe(303);
    expect(decided.res.headers.get('location')).toBe('/console/reviews');
    const [matter] = await stack.sql<{ id: string; status: string }[]>`
      select id, status from matters where source = ${SOURCE} and external_id = ${form.externalId}`;
    expect(matter?.status).toBe('open');
    const inbox = new WebClient(stack.baseUrl);
    await inbox.signIn(handler.token);
    await eventually(
      async () => (await inbox.get('/inbox')).html.includes(form.title),
      'the matter in the inbox',
    );
  });

  it('when the maker tries to approve their own request, then the service’s refusal is shown and it stays pending', async () => {
    const id = await propose(admin, newMatterForm());
    const page = await admin.get(`/console/reviews/${id}`);
    expect(page.html).toContain('Yours — someone else must review');
    const { res, html } = await admin.post(`/console/reviews/${id}/approve`, { comment: '' });
    expect(res.status).toBe(403);
    expect(html).toContain('the maker of a change cannot review it; a second person must');
    const [cr] = await stack.sql<{ status: string }[]>`select status from change_requests where id = ${id}`;
    expect(cr?.status).toBe('pending');
  });

  it('when a reviewer rejects without a comment, then the comment is asked for; with one, the request is rejected', async () => {
    const id = await propose(manager, newMatterForm());
    await reviewer.get(`/console/reviews/${id}`);
    const empty = await reviewer.post(`/console/reviews/${id}/reject`, { comment: ' ' });
    expect(empty.res.status).toBe(400);
    expect(empty.html).toContain('id="comment-error"');
    const done = await reviewer.post(`/console/reviews/${id}/reject`, { comment: 'not ours' });
    expect(done.res.status).toBe(303);
    const [cr] = await stack.sql<{ status: string; reviewComment: string }[]>`
      select status, review_comment as "reviewComment" from change_requests where id = ${id}`;
    expect(cr).toEqual({ status: 'rejected', reviewComment: 'not ours' });
  });

  it('when a manager edits a matter, then a modify request shows the title before and after, and the edit page points to it', async () => {
    const pushed = await call(stack, 'POST', '/v1/matters', {
      token: stack.adminToken,
      body: { source: SOURCE, externalId: randomUUID(), title: 'Old title', handlerId: handler.id },
    });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
    const edit = await manager.get(`/console/matters/${pushed.body.id}/edit`);
    expect(edit.html).toContain('value="Old title"');
    const ruleJson = /<textarea id="ruleJson"[^>]*>([^<]*)<\/textarea>/
      .exec(edit.html)![1]!
      .replace(/&quot;/g, '"');
    const { res } = await manager.post(`/console/matters/${pushed.body.id}/edit`, {
      intent: 'submit',
      title: 'New title',
      details: '',
      link: '',
      due: '',
      timeZone: 'UTC',
      priority: 'normal',
      handlerId: handler.id,
      ruleTemplate: '',
      ruleJson,
      reason: 'clearer',
    });
    expect(res.status).toBe(303);
    const crPath = res.headers.get('location')!;
    const again = await manager.get(`/console/matters/${pushed.body.id}/edit`);
    expect(again.html, 'the edit page points to the request already waiting').toContain(`href="${crPath}"`);
    const review = await reviewer.get(crPath);
    expect(diffRows(review.html)).toEqual([
      { change: 'changed', field: 'Title', mark: 'Changed', before: 'Old title', after: 'New title' },
    ]);
  });

  it('when a handler opens the console, then they get a 403 page', async () => {
    const web = new WebClient(stack.baseUrl);
    await web.signIn(handler.token);
    const { res, html } = await web.get('/console');
    expect(res.status).toBe(403);
    expect(html, 'in the handler’s own language').toContain(
      '管理控制台仅供事项管理人员、复核人员和管理员使用',
    );
  });

  it('when a console form comes without its CSRF token, then it is refused with 403 and nothing is proposed', async () => {
    const form = newMatterForm();
    await manager.get('/console/matters/new');
    const { res } = await manager.post('/console/matters/new', form, { csrf: false });
    expect(res.status).toBe(403);
    const proposed = await stack.sql`select 1 from change_requests where external_id = ${form.externalId}`;
    expect(proposed).toHaveLength(0);
  });

  it('lists the directory and catalogs, and a manager adds a handler there', async () => {
    const id = `con-h-${randomUUID().slice(0, 6)}`;
    const directory = await manager.get('/console/directory');
    expect(directory.html).toContain(`<td>${handler.id}</td>`);
    const added = await manager.post('/console/directory/handlers', {
      id,
      name: 'Wang Fang',
      supervisorId: handler.id,
      timezone: 'Asia/Shanghai',
      locale: 'zh-CN',
      channelType: 'webhook',
      channelAddress: '',
    });
    expect(added.res.status, added.html.slice(0, 2000)).toBe(303);
    const listed = await manager.get('/console/directory');
    expect(listed.html).toContain('Handler Wang Fang was added.');
    expect(listed.html).toContain(`<td>${id}</td>`);
    const catalogs = await manager.get('/console/catalogs');
    expect(catalogs.res.status).toBe(200);
    expect(catalogs.html).toContain(`<th scope="row">${SOURCE}</th>`);
  });
});
