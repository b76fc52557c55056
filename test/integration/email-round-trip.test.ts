/**
 * E-mail end to end: a matter pushed through the API leaves the worker as a real SMTP message, and the
 * action links in it are then used the way people, mail gateways and forgers use them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkAction } from '../../src/activities/contracts.js';
import { type ActionClaims, signActionToken, verifyActionToken } from '../../src/security/action-token.js';
import { decodeWords, parseMail, partOf, type Received, SmtpReceiver } from '../support/smtp-receiver.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

const FROM = 'matterflow@bank.example';
const ACTIONS: LinkAction[] = ['complete', 'transfer', 'exception'];
const LABELS: Record<LinkAction, string> = {
  complete: 'Complete',
  transfer: 'Transfer',
  exception: 'Report exception',
};

let smtp: SmtpReceiver;
let stack: TestStack;
let sourceToken: string;

beforeAll(async () => {
  smtp = await new SmtpReceiver().start();
  stack = await startStack({ env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, SMTP_FROM: FROM } });
  sourceToken = await issueToken(stack, 'loans', 'source');
});
afterAll(async () => {
  await stack?.close();
  await smtp?.stop();
});

interface EmailHandler {
  id: string;
  token: string;
  address: string;
}

/** A handler whose only channel is e-mail, written to in English. */
async function emailHandler(s: TestStack): Promise<EmailHandler> {
  const handler = await createHandler(s);
  const address = `${handler.id}@bank.example`;
  const res = await call(s, 'PATCH', `/v1/handlers/${handler.id}`, {
    token: s.adminToken,
    body: { channels: [{ type: 'email', address }], locale: 'en' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { ...handler, address };
}

async function pushMatter(s: TestStack, token: string, handlerId: string, title: string) {
  const res = await call(s, 'POST', '/v1/matters', {
    token,
    body: {
      source: 'loans',
      externalId: randomUUID(),
      title,
      details: 'Customer 7781, amount 50,000',
      handlerId,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; workflowId: string };
}

function mailsTo(address: string): Received[] {
  return smtp.received.filter((m) => m.to.includes(address));
}

async function nthMailTo(address: string, n: number): Promise<Received> {
  return eventually(async () => mailsTo(address)[n - 1], `mail #${n} to ${address}`);
}

interface Mail {
  subject: string;
  from: string;
  text: string;
  html: string;
  /** Every web address in the text part and in the HTML part's hrefs, in order. */
  textUrls: string[];
  htmlUrls: string[];
  links: Partial<Record<LinkAction, string>>;
}

function tokenOf(url: string): string {
  return new URL(url).pathname.replace(/^\/a\//, '');
}

/** What a link's token says, read without checking it (the checks are the server's). */
function claimsOf(url: string): ActionClaims {
  const [payload] = tokenOf(url).split('.');
  const [matterId, handlerId, action, expiresAt, nonce] = JSON.parse(
    Buffer.from(payload!, 'base64url').toString('utf8'),
  ) as [string, string, LinkAction, number, string];
  return { matterId, handlerId, action, expiresAt, nonce };
}

function readMail(received: Received): Mail {
  const { headers, parts } = parseMail(received.raw);
  const text = partOf(parts, 'text/plain');
  const html = partOf(parts, 'text/html');
  const textUrls = [...text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]);
  const htmlUrls = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  const links: Partial<Record<LinkAction, string>> = {};
  for (const url of htmlUrls) if (url.includes('/a/')) links[claimsOf(url).action] = url;
  return {
    subject: decodeWords(headers.get('subject') ?? ''),
    from: headers.get('from') ?? '',
    text,
    html,
    textUrls,
    htmlUrls,
    links,
  };
}

function link(mail: Mail, action: LinkAction): string {
  const url = mail.links[action];
  if (!url) throw new Error(`no ${action} link in the mail:\n${mail.text}`);
  return url;
}

/** Waits until the matter's notices have all been tried, so nothing is still moving. */
async function settled(s: TestStack, matterId: string): Promise<void> {
  await eventually(async () => {
    const rows = await s.sql<{ status: string }[]>`
      select status from notifications where matter_id = ${matterId}`;
    return rows.length > 0 && rows.every((r) => r.status !== 'pending');
  }, `notices of ${matterId} settled`);
}

/** Everything a use of a link could change, for one matter, plus every mail sent anywhere. */
async function stateOf(s: TestStack, matterId: string) {
  const [row] = await s.sql<
    {
      status: string;
      handlerId: string | null;
      completedBy: string | null;
      outcome: string | null;
      lastSeq: number;
      transferCount: number;
      exceptionCount: number;
      events: number;
      links: number;
      linksUsed: number;
      linksRevoked: number;
      notifications: number;
      filings: number;
      audit: number;
    }[]
  >`
    select m.status, m.handler_id as "handlerId", m.completed_by as "completedBy", m.outcome,
           m.last_seq as "lastSeq", m.transfer_count as "transferCount", m.exception_count as "exceptionCount",
           (select count(*)::int from matter_events where matter_id = m.id) as events,
           (select count(*)::int from action_links where matter_id = m.id) as links,
           (select count(*)::int from action_links where matter_id = m.id and used_at is not null) as "linksUsed",
           (select count(*)::int from action_links where matter_id = m.id and revoked_at is not null)
             as "linksRevoked",
           (select count(*)::int from notifications where matter_id = m.id) as notifications,
           (select count(*)::int from exception_filings where matter_id = m.id) as filings,
           (select count(*)::int from audit_log where subject = m.id::text) as audit
    from matters m where m.id = ${matterId}`;
  if (!row) throw new Error(`no matter ${matterId}`);
  return { ...row, mailsSent: smtp.received.length };
}

function postForm(url: string, body: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

/** A refusal a person can read: HTML, not cached, a heading, and a message saying why. */
async function expectRefusalPage(res: Response, status: number, ...phrases: string[]): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const html = await res.text();
  expect(html).toMatch(/^<!doctype html>/i);
  expect(html).toMatch(/<h1>This link cannot be used<\/h1>/);
  expect(html).toMatch(/<p class="notice error">[^<]+<\/p>/);
  for (const phrase of phrases) expect(html).toContain(phrase);
  return html;
}

/** A pushed matter and the first mail its handler got for it, once every notice has been tried. */
async function mailedMatter(handler: EmailHandler, title = `Approve loan ${randomUUID().slice(0, 6)}`) {
  const matter = await pushMatter(stack, sourceToken, handler.id, title);
  const mail = readMail(await nthMailTo(handler.address, 1));
  expect(mail.text).toContain(title);
  await settled(stack, matter.id);
  return { matter, mail, title };
}

describe('a matter mailed over real SMTP', () => {
  it('arrives at the handler’s address as text and HTML with its title and complete, transfer and exception links to /a/', async () => {
    const handler = await emailHandler(stack);
    const title = `Approve loan ${randomUUID().slice(0, 6)}`;
    const matter = await pushMatter(stack, sourceToken, handler.id, title);

    const received = await nthMailTo(handler.address, 1);
    expect(received.from).toBe(FROM);
    expect(received.to).toEqual([handler.address]);
    const { headers, parts } = parseMail(received.raw);
    expect(headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(parts.map((p) => p.headers.get('content-type')?.split(';')[0])).toEqual([
      'text/plain',
      'text/html',
    ]);

    const mail = readMail(received);
    expect(mail.from).toContain(FROM);
    expect(mail.subject).toBe(`[matterflow] New matter: ${title}`);
    expect(mail.text).toContain(`New matter: ${title}`);
    expect(mail.text).toContain('Customer 7781, amount 50,000');
    expect(mail.html).toContain(`<title>${title}</title>`);
    expect(mail.html).toMatch(new RegExp(`<h2[^>]*>${title}</h2>`));

    // The same three links in both parts, each a signed link to this stack, bound to this matter and handler.
    expect(Object.keys(mail.links).sort()).toEqual([...ACTIONS].sort());
    expect(new Set(mail.htmlUrls)).toEqual(new Set(Object.values(mail.links)));
    expect(new Set(mail.textUrls)).toEqual(new Set(Object.values(mail.links)));
    for (const action of ACTIONS) {
      const url = link(mail, action);
      expect(url.startsWith(`${stack.baseUrl}/a/`), url).toBe(true);
      expect(mail.text).toContain(`${LABELS[action]}: ${url}`);
      expect(mail.html).toMatch(
        new RegExp(`<a href="${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>${LABELS[action]}</a>`),
      );
      expect(verifyActionToken(stack.env.LINK_SECRET!, tokenOf(url), Date.now())).toMatchObject({
        matterId: matter.id,
        handlerId: handler.id,
        action,
      });
    }
    const stored = await stack.sql`
      select action, used_at, revoked_at from action_links where matter_id = ${matter.id} order by action`;
    expect(stored).toEqual(
      ['complete', 'exception', 'transfer'].map((action) => ({ action, used_at: null, revoked_at: null })),
    );
    await settled(stack, matter.id);
    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(detail.body.notifications).toEqual([
      expect.objectContaining({ type: 'matter.assigned', channelType: 'email', status: 'delivered' }),
    ]);
  });

  it('opening the mailed complete link shows a confirm page and changes nothing; posting its form completes the matter as the handler', async () => {
    const handler = await emailHandler(stack);
    const { matter, mail, title } = await mailedMatter(handler);
    const completeUrl = link(mail, 'complete');

    const before = await stateOf(stack, matter.id);
    expect(before).toMatchObject({ status: 'open', linksUsed: 0, linksRevoked: 0, links: 3 });
    const page = await fetch(completeUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const confirm = await page.text();
    expect(confirm).toContain(`<h1>${title}</h1>`);
    expect(confirm).toContain('<form method="post">');
    expect(confirm).toContain('Complete this matter');
    expect(await stateOf(stack, matter.id)).toEqual(before);

    const done = await postForm(completeUrl, 'outcome=approved&comment=checked+by+mail');
    expect(done.status).toBe(200);
    expect(done.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await done.text()).toContain(`Recorded: complete on matter ${matter.id}`);

    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ status: 'completed', completedBy: handler.id, outcome: 'approved' });
    expect(detail.body.events.map((e: { type: string; actorId: string }) => [e.type, e.actorId])).toEqual([
      ['matter.assigned', 'loans'],
      ['matter.completed', handler.id],
    ]);
    expect(detail.body.events[1].data).toEqual({ outcome: 'approved', comment: 'checked by mail' });
    const links = await stack.sql<{ action: string; used: boolean; revoked: boolean }[]>`
      select action, used_at is not null as used, revoked_at is not null as revoked
      from action_links where matter_id = ${matter.id} order by action`;
    expect(links).toEqual([
      { action: 'complete', used: true, revoked: false },
      { action: 'exception', used: false, revoked: true },
      { action: 'transfer', used: false, revoked: true },
    ]);
  });
});

describe('mailed action links meeting scanners, reuse, forgery and expiry', () => {
  it('a link scanner that GETs, HEADs and GETs again every link in the mail changes nothing, and the handler’s POST then still completes the matter', async () => {
    const handler = await emailHandler(stack);
    const { matter, mail } = await mailedMatter(handler);
    const every = [...new Set([...mail.htmlUrls, ...mail.textUrls])];
    expect(every).toHaveLength(3);

    const before = await stateOf(stack, matter.id);
    const scanner = { 'user-agent': 'Mozilla/5.0 (compatible; SafeLinks-scan)', accept: 'text/html,*/*' };
    for (const url of every) {
      for (const method of ['GET', 'HEAD', 'GET']) {
        const res = await fetch(url, { method, headers: scanner, redirect: 'manual' });
        expect(res.status, `${method} ${url}`).toBe(200);
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('x-robots-tag')).toBe('noindex, nofollow');
        await res.arrayBuffer();
      }
    }
    const after = await stateOf(stack, matter.id);
    expect(after).toEqual(before);
    expect(after).toMatchObject({ status: 'open', linksUsed: 0, linksRevoked: 0 });
    expect((await stack.temporal.workflow.getHandle(matter.workflowId).describe()).status.name).toBe(
      'RUNNING',
    );

    const done = await postForm(link(mail, 'complete'), 'outcome=approved');
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Recorded: complete');
    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(detail.body).toMatchObject({ status: 'completed', completedBy: handler.id, outcome: 'approved' });
  });

  it('a used link answers 410 with an HTML page saying it has already been used and who completed the matter, and changes nothing', async () => {
    const handler = await emailHandler(stack);
    const { matter, mail } = await mailedMatter(handler);
    const completeUrl = link(mail, 'complete');
    expect((await postForm(completeUrl, 'outcome=approved')).status).toBe(200);
    await eventually(
      async () => (await stateOf(stack, matter.id)).notifications >= 2,
      'the completion notice',
    );
    await settled(stack, matter.id);
    const before = await stateOf(stack, matter.id);

    const who = `Completed by Handler ${handler.id} at `;
    const again = await fetch(completeUrl);
    await expectRefusalPage(again, 410, 'this action link has already been used', who);
    const resubmitted = await postForm(completeUrl, 'outcome=rejected');
    await expectRefusalPage(resubmitted, 410, 'this action link has already been used', who);
    // The links that came with it died with the completion and say so too.
    for (const action of ['transfer', 'exception'] as const) {
      await expectRefusalPage(await fetch(link(mail, action)), 410, 'no longer valid', who);
    }

    expect(await stateOf(stack, matter.id)).toEqual(before);
    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(detail.body).toMatchObject({ status: 'completed', outcome: 'approved' });
  });

  it('a link with one character of its signature changed answers 404 with an HTML page, changes nothing, and the real link still works', async () => {
    const handler = await emailHandler(stack);
    const { matter, mail } = await mailedMatter(handler);
    const completeUrl = link(mail, 'complete');
    const [payload, signature] = tokenOf(completeUrl).split('.') as [string, string];
    const swapped = signature[0] === 'A' ? 'B' : 'A';
    const forged = `${stack.baseUrl}/a/${payload}.${swapped}${signature.slice(1)}`;
    expect(forged).not.toBe(completeUrl);

    const before = await stateOf(stack, matter.id);
    await expectRefusalPage(await fetch(forged), 404, 'this action link is not valid');
    await expectRefusalPage(await postForm(forged, 'outcome=forged'), 404, 'this action link is not valid');
    expect((await fetch(forged, { method: 'HEAD' })).status).toBe(404);
    // The page says nothing about the matter behind the forged link.
    const page = await (await fetch(forged)).text();
    expect(page).not.toContain(matter.id);
    expect(page).not.toContain(handler.id);
    expect(await stateOf(stack, matter.id)).toEqual(before);

    expect((await postForm(completeUrl, 'outcome=approved')).status).toBe(200);
    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: handler.token });
    expect(detail.body).toMatchObject({ status: 'completed', completedBy: handler.id });
  });

  it('a link signed with the stack’s secret but an expiry in the past answers 410 "has expired" and changes nothing', async () => {
    const handler = await emailHandler(stack);
    const { matter, mail } = await mailedMatter(handler);
    const claims = claimsOf(link(mail, 'complete'));
    // The same claims the server minted, with only the expiry moved an hour into the past.
    const expiredToken = signActionToken(stack.env.LINK_SECRET!, {
      ...claims,
      expiresAt: Math.floor(Date.now() / 1000) - 3600,
    });
    const expired = `${stack.baseUrl}/a/${expiredToken}`;

    const before = await stateOf(stack, matter.id);
    await expectRefusalPage(await fetch(expired), 410, 'this action link has expired');
    await expectRefusalPage(await postForm(expired, 'outcome=late'), 410, 'this action link has expired');
    expect((await fetch(expired, { method: 'HEAD' })).status).toBe(410);
    expect(await stateOf(stack, matter.id)).toEqual(before);
    expect(before).toMatchObject({ status: 'open', linksUsed: 0 });
  });

  it('a handler’s mailed link used after the matter was transferred away answers 410 naming the transfer; the new holder’s mailed link still completes it', async () => {
    const alice = await emailHandler(stack);
    const bob = await emailHandler(stack);
    const { matter, mail } = await mailedMatter(alice);

    const moved = await postForm(link(mail, 'transfer'), `toHandlerId=${bob.id}&reason=on+leave`);
    expect(moved.status).toBe(200);
    expect(await moved.text()).toContain('Recorded: transfer');
    const toBob = readMail(await nthMailTo(bob.address, 1));
    expect(toBob.subject).toContain('Transferred');
    await settled(stack, matter.id);

    const before = await stateOf(stack, matter.id);
    expect(before).toMatchObject({ status: 'open', handlerId: bob.id, transferCount: 1 });
    const transferred = `Transferred to Handler ${bob.id} by Handler ${alice.id} at `;
    for (const action of ['complete', 'exception'] as const) {
      const aliceLink = link(mail, action);
      await expectRefusalPage(await fetch(aliceLink), 410, 'no longer valid', transferred);
      await expectRefusalPage(
        await postForm(
          aliceLink,
          action === 'complete' ? 'outcome=approved' : 'eventType=OTHER&description=still+mine',
        ),
        410,
        'no longer valid',
        transferred,
      );
    }
    // Nor does the used transfer link take the matter back.
    await expectRefusalPage(
      await postForm(link(mail, 'transfer'), `toHandlerId=${alice.id}&reason=back`),
      410,
      'already been used',
      transferred,
    );
    expect(await stateOf(stack, matter.id)).toEqual(before);

    const bobLinks = toBob.links;
    expect(claimsOf(bobLinks.complete!)).toMatchObject({ matterId: matter.id, handlerId: bob.id });
    expect((await postForm(bobLinks.complete!, 'outcome=approved')).status).toBe(200);
    const detail = await call(stack, 'GET', `/v1/matters/${matter.id}`, { token: bob.token });
    expect(detail.body).toMatchObject({ status: 'completed', completedBy: bob.id, handlerId: bob.id });
  });
});

describe('a mailed link on a stack whose links live three seconds (ACTION_LINK_TTL=PT3S)', () => {
  let shortLived: TestStack;
  let shortSource: string;

  beforeAll(async () => {
    shortLived = await startStack({
      env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, SMTP_FROM: FROM, ACTION_LINK_TTL: 'PT3S' },
    });
    shortSource = await issueToken(shortLived, 'loans', 'source');
  });
  afterAll(async () => shortLived?.close());

  it('stops acting once its lifetime is over: 410 "has expired" as a page, and nothing changes', async () => {
    const handler = await emailHandler(shortLived);
    const matter = await pushMatter(shortLived, shortSource, handler.id, 'Approve loan, briefly');
    const mail = readMail(await nthMailTo(handler.address, 1));
    const completeUrl = link(mail, 'complete');
    expect(completeUrl.startsWith(`${shortLived.baseUrl}/a/`)).toBe(true);
    const claims = claimsOf(completeUrl);
    // A genuine link: it verified under the stack's secret before its time was up.
    expect(
      verifyActionToken(shortLived.env.LINK_SECRET!, tokenOf(completeUrl), claims.expiresAt * 1000 - 1000),
    ).toMatchObject({ matterId: matter.id, handlerId: handler.id, action: 'complete' });
    await settled(shortLived, matter.id);
    const wait = claims.expiresAt * 1000 + 500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));

    const before = await stateOf(shortLived, matter.id);
    await expectRefusalPage(await fetch(completeUrl), 410, 'this action link has expired');
    expect((await fetch(completeUrl, { method: 'HEAD' })).status).toBe(410);
    await expectRefusalPage(await postForm(completeUrl, 'outcome=late'), 410, 'this action link has expired');
    const after = await stateOf(shortLived, matter.id);
    expect(after).toEqual(before);
    expect(after).toMatchObject({ status: 'open', linksUsed: 0, handlerId: handler.id });
  });
});
