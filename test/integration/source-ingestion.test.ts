import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

/**
 * The source-system contract end to end: versioned writes keyed by (source, externalId), stale
 * ones dropped and reported, review for untrusted sources, source-side cancel, bulk, reconcile and
 * the per-source rate limit.
 */
let stack: TestStack;
let h1: { id: string; token: string };
let h2: { id: string; token: string };
let reviewer: string;
const run = randomUUID().slice(0, 6);
const TRUSTED = `ing-t-${run}`;
const UNTRUSTED = `ing-u-${run}`;
const tokens: Record<string, string> = {};

const put = (source: string, externalId: string, body: object, token = tokens[source]) =>
  call(stack, 'PUT', `/v1/sources/${source}/matters/${externalId}`, { token, body });
const read = (id: string) => call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
const approve = (id: string) =>
  call(stack, 'POST', `/v1/change-requests/${id}/approve`, { token: reviewer, body: { comment: 'checked' } });
const matterCount = async (source: string, externalId?: string) => {
  const [row] = await stack.sql<{ n: number }[]>`
    select count(*)::int as n from matters
    where source = ${source} ${externalId ? stack.sql`and external_id = ${externalId}` : stack.sql``}`;
  return row!.n;
};

beforeAll(async () => {
  stack = await startStack();
  h1 = await createHandler(stack);
  h2 = await createHandler(stack);
  reviewer = await issueToken(stack, `rev-${run}`, 'reviewer');
  tokens[TRUSTED] = await issueToken(stack, TRUSTED, 'source');
  tokens[UNTRUSTED] = await issueToken(stack, UNTRUSTED, 'source', { trusted: false });
});
afterAll(async () => stack?.close());

describe('versioned writes', () => {
  it('when the same id and version are sent twice, then there is one matter and the same answer', async () => {
    const id = randomUUID();
    const body = { version: 1, title: 'Loan 1', handlerId: h1.id, dueAt: '2100-01-01T00:00:00+08:00' };
    const first = await put(TRUSTED, id, body);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ status: 'created', externalId: id, version: 1, matterStatus: 'open' });
    // The same instant written another way is the same content.
    const again = await put(TRUSTED, id, { ...body, dueAt: '2099-12-31T16:00:00Z' });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toEqual({ ...first.body, status: 'unchanged' });
    expect(await matterCount(TRUSTED, id)).toBe(1);
  });

  it('when an older version arrives, then it is dropped, refused with both versions and reported', async () => {
    const id = randomUUID();
    const created = await put(TRUSTED, id, { version: 5, title: 'Version five', handlerId: h1.id });
    expect(created.status).toBe(201);
    const late = await put(TRUSTED, id, { version: 4, title: 'Version four', handlerId: h1.id });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({
      code: 'STALE_VERSION',
      details: { status: 'stale', version: 4, heldVersion: 5 },
    });
    expect((await read(created.body.matterId)).body.title).toBe('Version five');
    const reported = await call(stack, 'GET', `/v1/sources/${TRUSTED}/stale-updates?limit=500`, {
      token: tokens[TRUSTED],
    });
    expect(reported.status).toBe(200);
    expect(reported.body.items.filter((s: { externalId: string }) => s.externalId === id)).toEqual([
      expect.objectContaining({ kind: 'upsert', versionReceived: 4, versionHeld: 5, receivedBy: TRUSTED }),
    ]);
  });

  it('when the same version comes with other content, then it is refused and nothing changes', async () => {
    const id = randomUUID();
    await put(TRUSTED, id, { version: 1, title: 'Original', handlerId: h1.id });
    const other = await put(TRUSTED, id, { version: 1, title: 'Rewritten', handlerId: h1.id });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: [{ field: 'body.version' }],
    });
  });

  it('when a trusted source sends a newer version, then the fields it changed are modified at once', async () => {
    const id = randomUUID();
    const v1 = await put(TRUSTED, id, { version: 1, title: 'Before', handlerId: h1.id, priority: 'low' });
    const matterId = v1.body.matterId as string;
    // The handler hands it on; the source's next version leaves the handler alone, so this stays.
    const moved = await call(stack, 'POST', `/v1/matters/${matterId}/transfer`, {
      token: h1.token,
      body: { toHandlerId: h2.id, reason: 'my colleague knows it' },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const v2 = await put(TRUSTED, id, {
      version: 2,
      title: 'After',
      handlerId: h1.id,
      priority: 'high',
      dueAt: '2100-02-01T00:00:00Z',
    });
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
    expect(v2.body).toMatchObject({ status: 'modified', matterId, version: 2 });
    const after = await eventually(async () => {
      const m = (await read(matterId)).body;
      return m.title === 'After' && m;
    }, 'the modified title');
    expect(after).toMatchObject({
      priority: 'high',
      dueAt: '2100-02-01T00:00:00.000Z',
      handlerId: h2.id,
      status: 'open',
    });
    expect(after.events.map((e: { type: string }) => e.type)).toContain('matter.modified');
  });

  it('when an untrusted source writes, then each version waits for review and holds its place meanwhile', async () => {
    const id = randomUUID();
    const v1 = await put(UNTRUSTED, id, { version: 1, title: 'Untrusted', handlerId: h1.id });
    expect(v1.status, JSON.stringify(v1.body)).toBe(202);
    expect(v1.body).toMatchObject({ status: 'pending_review', version: 1 });
    const resent = await put(UNTRUSTED, id, { version: 1, title: 'Untrusted', handlerId: h1.id });
    expect(resent.body).toEqual(v1.body);
    const added = await approve(v1.body.changeRequestId);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const matterId = added.body.matterId as string;

    const v2 = await put(UNTRUSTED, id, { version: 2, title: 'Untrusted, retitled', handlerId: h1.id });
    expect(v2.status, JSON.stringify(v2.body)).toBe(202);
    expect(v2.body).toMatchObject({ status: 'pending_review', matterId, version: 2 });
    expect(v2.body.changeRequestId).not.toBe(v1.body.changeRequestId);
    // Not applied before review, but already held: the version before it is stale.
    expect((await read(matterId)).body.title).toBe('Untrusted');
    const old = await put(UNTRUSTED, id, { version: 1, title: 'Untrusted', handlerId: h1.id });
    expect(old.body.error).toMatchObject({ code: 'STALE_VERSION', details: { heldVersion: 2 } });
    const v3 = await put(UNTRUSTED, id, { version: 3, title: 'Too soon', handlerId: h1.id });
    expect(v3.status).toBe(409);
    expect(v3.body.error).toMatchObject({ code: 'CHANGE_PENDING', details: { heldVersion: 2 } });

    expect((await approve(v2.body.changeRequestId)).status).toBe(200);
    await eventually(
      async () => (await read(matterId)).body.title === 'Untrusted, retitled',
      'the approved title',
    );
    const again = await put(UNTRUSTED, id, { version: 2, title: 'Untrusted, retitled', handlerId: h1.id });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'unchanged', matterId });
  });

  it('when a matter is no longer open, then a newer version is refused with MATTER_NOT_OPEN', async () => {
    const id = randomUUID();
    const v1 = await put(TRUSTED, id, { version: 1, title: 'Done soon', handlerId: h1.id });
    const done = await call(stack, 'POST', `/v1/matters/${v1.body.matterId}/complete`, {
      token: h1.token,
      body: {},
    });
    expect(done.status).toBe(200);
    await eventually(async () => (await read(v1.body.matterId)).body.status === 'completed', 'completion');
    const v2 = await put(TRUSTED, id, { version: 2, title: 'Too late', handlerId: h1.id });
    expect(v2.status).toBe(409);
    expect(v2.body.error.code).toBe('MATTER_NOT_OPEN');
  });

  it('when a write comes from another source or a handler, then it is forbidden', async () => {
    const asOther = await put(
      TRUSTED,
      randomUUID(),
      { version: 1, title: 'x', handlerId: h1.id },
      tokens[UNTRUSTED],
    );
    expect(asOther.status).toBe(403);
    const asHandler = await put(
      TRUSTED,
      randomUUID(),
      { version: 1, title: 'x', handlerId: h1.id },
      h1.token,
    );
    expect(asHandler.status).toBe(403);
  });
});

describe('source-side cancel', () => {
  it('when a trusted source cancels with a newer version, then the matter is cancelled, once', async () => {
    const id = randomUUID();
    const v1 = await put(TRUSTED, id, { version: 1, title: 'To withdraw', handlerId: h1.id });
    const path = `/v1/sources/${TRUSTED}/matters/${id}`;
    const cancelled = await call(stack, 'DELETE', `${path}?version=2&reason=withdrawn%20by%20customer`, {
      token: tokens[TRUSTED],
    });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      matterId: v1.body.matterId,
      matterStatus: 'cancelled',
    });
    const again = await call(stack, 'DELETE', `${path}?version=2`, { token: tokens[TRUSTED] });
    expect(again.body).toMatchObject({ status: 'unchanged', matterStatus: 'cancelled' });
    const stale = await call(stack, 'DELETE', `${path}?version=1`, { token: tokens[TRUSTED] });
    expect(stale.body.error).toMatchObject({
      code: 'STALE_VERSION',
      details: { version: 1, heldVersion: 2 },
    });
    const audit = await call(stack, 'GET', `/v1/audit?entityId=${TRUSTED}/${id}`, {
      token: stack.adminToken,
    });
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual([
      'source_matter.created',
      'source_matter.cancelled',
      'source_matter.stale_dropped',
    ]);
  });

  it('when an untrusted source cancels, then the cancel waits for review', async () => {
    const id = randomUUID();
    const v1 = await put(UNTRUSTED, id, { version: 1, title: 'Untrusted cancel', handlerId: h1.id });
    const matterId = (await approve(v1.body.changeRequestId)).body.matterId;
    const asked = await call(stack, 'DELETE', `/v1/sources/${UNTRUSTED}/matters/${id}?version=2`, {
      token: tokens[UNTRUSTED],
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(asked.body).toMatchObject({ status: 'pending_review', matterId });
    expect((await read(matterId)).body.status).toBe('open');
    expect((await approve(asked.body.changeRequestId)).status).toBe(200);
    await eventually(async () => (await read(matterId)).body.status === 'cancelled', 'the approved cancel');
  });
});

describe('reconcile', () => {
  it('when a source sends its open ids, then it gets back exactly what differs', async () => {
    const source = `ing-rec-${run}`;
    const token = await issueToken(stack, source, 'source');
    const push = async (id: string) => {
      const res = await put(source, id, { version: 1, title: id, handlerId: h1.id }, token);
      expect(res.status).toBe(201);
      return res.body.matterId as string;
    };
    const [, , done, cancelled] = await Promise.all(['both', 'ours', 'done', 'gone'].map(push));
    await call(stack, 'POST', `/v1/matters/${done}/complete`, { token: h1.token, body: { outcome: 'ok' } });
    await call(stack, 'DELETE', `/v1/sources/${source}/matters/gone?version=2`, { token });
    await eventually(
      async () =>
        (await read(done!)).body.status === 'completed' &&
        (await read(cancelled!)).body.status === 'cancelled',
      'completion and cancel',
    );
    const res = await call(stack, 'POST', `/v1/sources/${source}/reconcile`, {
      token,
      body: { openExternalIds: ['both', 'done', 'theirs', 'theirs'] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      missingHere: ['theirs'],
      pendingReview: [],
      closedHere: [
        {
          externalId: 'done',
          matterId: done,
          status: 'completed',
          completedAt: expect.any(String),
          completedBy: h1.id,
          outcome: 'ok',
        },
      ],
      openHereOnly: [{ externalId: 'ours', matterId: expect.any(String) }],
    });
  });
});

describe('rate limit', () => {
  it('when a source exceeds its requests per minute, then it gets 429 RATE_LIMITED with retry-after', async () => {
    const source = `ing-rl-${run}`;
    const token = await issueToken(stack, source, 'source');
    const limited = await call(stack, 'POST', '/v1/source-systems', {
      token: stack.adminToken,
      body: { code: source, name: 'Limited', trusted: true, rateLimitPerMinute: 2 },
    });
    expect(limited.status).toBe(201);
    const send = () => put(source, randomUUID(), { version: 1, title: 'limited', handlerId: h1.id }, token);
    expect((await send()).status).toBe(201);
    expect((await send()).status).toBe(201);
    const refused = await send();
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another source's budget is its own.
    expect((await put(TRUSTED, randomUUID(), { version: 1, title: 'free', handlerId: h1.id })).status).toBe(
      201,
    );
  });
});

describe('bulk', () => {
  it('when 1,000 items carry 3 bad ones, then 997 are created and the 3 get precise errors', async () => {
    const source = `ing-bulk-${run}`;
    const token = await issueToken(stack, source, 'source');
    const items: Record<string, unknown>[] = Array.from({ length: 1000 }, (_, i) => ({
      externalId: `bulk-${i}`,
      version: 1,
      title: `Bulk matter ${i}`,
      handlerId: h1.id,
    }));
    items[17] = { ...items[17], dueAt: 'next tuesday' };
    items[404] = { ...items[404], handlerId: 'nobody-by-that-name' };
    const { title: _dropped, ...untitled } = items[999]!;
    items[999] = untitled;

    // How fast a bulk push is belongs to `npm run bench`, not here.
    const res = await call(stack, 'POST', `/v1/sources/${source}/matters/bulk`, { token, body: { items } });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.counts).toEqual({ created: 997, error: 3 });
    const errors = res.body.results.filter((r: { status: string }) => r.status === 'error');
    expect(errors).toEqual([
      {
        index: 17,
        externalId: 'bulk-17',
        version: 1,
        status: 'error',
        error: {
          code: 'VALIDATION_FAILED',
          message: expect.stringContaining('date-time'),
          field: 'items[17].dueAt',
        },
      },
      {
        index: 404,
        externalId: 'bulk-404',
        version: 1,
        status: 'error',
        error: { code: 'UNKNOWN_HANDLER', message: expect.any(String), field: 'items[404].handlerId' },
      },
      {
        index: 999,
        externalId: 'bulk-999',
        version: 1,
        status: 'error',
        error: { code: 'VALIDATION_FAILED', message: expect.any(String), field: 'items[999].title' },
      },
    ]);
    expect(res.body.results.map((r: { index: number }) => r.index)).toEqual(items.map((_, i) => i));
    expect(await matterCount(source)).toBe(997);

    const fixed = await call(stack, 'POST', `/v1/sources/${source}/matters/bulk`, {
      token,
      body: { items: [items[0], { ...items[17], dueAt: '2100-01-01T00:00:00Z' }] },
    });
    expect(fixed.body.results.map((r: { status: string }) => r.status)).toEqual(['unchanged', 'created']);
  });

  it('when more than 1,000 items come, then the whole push is refused with BULK_TOO_LARGE', async () => {
    const items = Array.from({ length: 1001 }, (_, i) => ({
      externalId: `big-${i}`,
      version: 1,
      title: 't',
    }));
    const res = await call(stack, 'POST', `/v1/sources/${TRUSTED}/matters/bulk`, {
      token: tokens[TRUSTED],
      body: { items },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('BULK_TOO_LARGE');
  });
});
