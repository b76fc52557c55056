import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

/**
 * A seeded data set under sources of this run's own, so other tests' matters never reach the
 * figures: SOURCE has four matters (two completed, one transferred, one overdue) and three
 * exception filings; OTHER_SOURCE has one completed matter and one filing.
 */
let stack: TestStack;
let auditor: string;
let h1: { id: string; token: string };
let h2: { id: string; token: string };
const run = randomUUID().slice(0, 6);
const SOURCE = `rpt-${run}`;
const OTHER_SOURCE = `rpt2-${run}`;
const ids: Record<'done1' | 'done2' | 'moved' | 'late' | 'elsewhere', string> = {} as never;
let from: string;
let to: string;
const matters: Record<string, any> = {};

async function push(token: string, source: string, handlerId: string, extra: object = {}): Promise<string> {
  const res = await call(stack, 'POST', '/v1/matters', {
    token,
    body: { source, externalId: randomUUID(), title: `Report ${source}`, handlerId, ...extra },
  });
  if (res.status !== 201) throw new Error(`pushing: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

async function act(token: string, id: string, action: string, body: object): Promise<void> {
  const res = await call(stack, 'POST', `/v1/matters/${id}/${action}`, { token, body });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
}

const read = (id: string) => call(stack, 'GET', `/v1/matters/${id}`, { token: stack.adminToken });
const report = (
  path: string,
  params: Record<string, string>,
  options: { token?: string; accept?: string } = {},
) =>
  call(stack, 'GET', `${path}?${new URLSearchParams({ from, to, ...params })}`, {
    token: options.token ?? auditor,
    ...(options.accept ? { accept: options.accept } : {}),
  });

/** percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const secondsToComplete = (m: any) => (Date.parse(m.completedAt) - Date.parse(m.createdAt)) / 1000;
const dayIn = (iso: string, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(iso),
  );

/** Splits CSV that is known to be well-formed into records; quoted fields may hold commas. */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\r\n').slice(0, -1)) {
    const cells: string[] = [];
    for (const m of line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)) {
      const cell = m[1]!;
      cells.push(cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell);
    }
    rows.push(cells);
  }
  return rows;
}

beforeAll(async () => {
  stack = await startStack();
  from = new Date(Date.now() - 1000).toISOString();
  h1 = await createHandler(stack);
  h2 = await createHandler(stack);
  auditor = await issueToken(stack, `rpt-aud-${run}`, 'auditor');
  const source = await issueToken(stack, SOURCE, 'source');
  const otherSource = await issueToken(stack, OTHER_SOURCE, 'source');

  ids.done1 = await push(source, SOURCE, h1.id);
  ids.done2 = await push(source, SOURCE, h1.id);
  ids.moved = await push(source, SOURCE, h1.id);
  ids.late = await push(source, SOURCE, h2.id, { dueAt: new Date(Date.now() - 3600_000).toISOString() });
  ids.elsewhere = await push(otherSource, OTHER_SOURCE, h2.id);

  await act(h1.token, ids.done1, 'exceptions', {
    eventType: 'OTHER',
    description: '=HYPERLINK("http://evil") 数据, 不符',
  });
  await act(h1.token, ids.moved, 'exceptions', { eventType: 'OTHER', description: 'waiting on a signature' });
  await act(h2.token, ids.late, 'exceptions', { eventType: 'BLOCKED', description: 'system down' });
  await act(h2.token, ids.elsewhere, 'exceptions', { eventType: 'BLOCKED', description: 'other source' });
  await act(h1.token, ids.done1, 'complete', { outcome: 'approved' });
  await new Promise((r) => setTimeout(r, 300));
  await act(h1.token, ids.done2, 'complete', { outcome: 'approved' });
  await act(h2.token, ids.elsewhere, 'complete', {});
  await act(h1.token, ids.moved, 'transfer', { toHandlerId: h2.id, reason: 'h2 owns this account' });

  const settled: Record<keyof typeof ids, (m: any) => boolean> = {
    done1: (m) => m.status === 'completed' && m.exceptionCount === 1,
    done2: (m) => m.status === 'completed',
    moved: (m) => m.transferCount === 1 && m.handlerId === h2.id && m.exceptionCount === 1,
    late: (m) => m.exceptionCount === 1,
    elsewhere: (m) => m.status === 'completed' && m.exceptionCount === 1,
  };
  for (const [key, done] of Object.entries(settled)) {
    const id = ids[key as keyof typeof ids];
    matters[key] = await eventually(async () => {
      const res = await read(id);
      return done(res.body) && res.body.exceptions?.length === (key === 'done2' ? 0 : 1) && res.body;
    }, `${key} projected`);
  }
  to = new Date(Date.now() + 60_000).toISOString();
});
afterAll(async () => stack?.close());

describe('GET /v1/reports/matters', () => {
  it('gives the SLA figures of one source, computed from its matters', async () => {
    const res = await report('/v1/reports/matters', { source: SOURCE });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const done = [matters.done1, matters.done2];
    const expected = {
      total: 4,
      open: 2,
      overdue: 1,
      completed: 2,
      cancelled: 0,
      transfers: 1,
      avgTransfers: 0.25,
      avgRemindersBeforeCompletion: (done[0].remindersSent + done[1].remindersSent) / 2,
    };
    expect(res.body.overall).toMatchObject(expected);
    expect(res.body.bySource).toEqual([{ source: SOURCE, ...res.body.overall }]);
    const seconds = done.map(secondsToComplete);
    expect(res.body.overall.medianSecondsToComplete).toBeCloseTo(percentile(seconds, 0.5), 3);
    expect(res.body.overall.p90SecondsToComplete).toBeCloseTo(percentile(seconds, 0.9), 3);
    expect(res.body.from).toBe(from);
    expect(res.body.to).toBe(to);
  });

  it('narrows by handler: only the matters h2 now holds', async () => {
    const res = await report('/v1/reports/matters', { source: SOURCE, handlerId: h2.id });
    expect(res.body.overall).toMatchObject({
      total: 2,
      open: 2,
      overdue: 1,
      completed: 0,
      transfers: 1,
      medianSecondsToComplete: null,
      p90SecondsToComplete: null,
      avgRemindersBeforeCompletion: null,
    });
  });

  it('narrows by source, and a range before the matters finds none', async () => {
    const other = await report('/v1/reports/matters', { source: OTHER_SOURCE });
    expect(other.body.overall).toMatchObject({ total: 1, completed: 1, open: 0, transfers: 0 });
    expect(other.body.overall.medianSecondsToComplete).toBeCloseTo(secondsToComplete(matters.elsewhere), 3);
    const before = await call(
      stack,
      'GET',
      `/v1/reports/matters?${new URLSearchParams({ source: SOURCE, from: new Date(Date.parse(from) - 30 * 86_400_000).toISOString(), to: from })}`,
      { token: auditor },
    );
    expect(before.body.overall).toMatchObject({
      total: 0,
      open: 0,
      completed: 0,
      transfers: 0,
      avgTransfers: null,
    });
    expect(before.body.bySource).toEqual([]);
  });

  it('answers CSV for Accept: text/csv, with a header row, an overall row and one per source', async () => {
    const res = await report('/v1/reports/matters', { source: SOURCE }, { accept: 'text/csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="matter-sla_${from.slice(0, 10)}_${to.slice(0, 10)}.csv"`,
    );
    const json = (await report('/v1/reports/matters', { source: SOURCE })).body.overall;
    const figures = (f: any) =>
      [
        f.total,
        f.open,
        f.overdue,
        f.completed,
        f.cancelled,
        f.medianSecondsToComplete,
        f.p90SecondsToComplete,
        f.avgRemindersBeforeCompletion,
        f.transfers,
        f.avgTransfers,
      ].map(String);
    expect(csvRows(res.body)).toEqual([
      [
        'source',
        'total',
        'open',
        'overdue',
        'completed',
        'cancelled',
        'median_seconds_to_complete',
        'p90_seconds_to_complete',
        'avg_reminders_before_completion',
        'transfers',
        'avg_transfers',
      ],
      ['(all)', ...figures(json)],
      [SOURCE, ...figures(json)],
    ]);
  });
});

describe('GET /v1/reports/exceptions', () => {
  it('lists a source’s filings newest first, with their matters', async () => {
    const res = await report('/v1/reports/exceptions', { source: SOURCE });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const filings = [matters.done1, matters.moved, matters.late]
      .map((m) => ({
        ...m.exceptions[0],
        matterId: m.id,
        source: SOURCE,
        externalId: m.externalId,
        title: m.title,
      }))
      .sort((a, b) => b.filedAt.localeCompare(a.filedAt) || b.id.localeCompare(a.id));
    expect(res.body.items).toEqual(
      filings.map((f) => ({
        id: f.id,
        matterId: f.matterId,
        seq: f.seq,
        eventType: f.eventType,
        description: f.description,
        fields: {},
        filedBy: f.filedBy,
        filedAt: f.filedAt,
        source: SOURCE,
        externalId: f.externalId,
        title: f.title,
      })),
    );
    expect(res.body.nextCursor).toBeNull();
  });

  it('narrows by event type and by the handler who filed', async () => {
    const other = await report('/v1/reports/exceptions', { source: SOURCE, eventType: 'OTHER' });
    expect(other.body.items.map((i: any) => i.matterId).sort()).toEqual([ids.done1, ids.moved].sort());
    const byH2 = await report('/v1/reports/exceptions', { source: SOURCE, handlerId: h2.id });
    expect(byH2.body.items.map((i: any) => i.matterId)).toEqual([ids.late]);
    const blockedAnywhere = await report('/v1/reports/exceptions', {
      eventType: 'BLOCKED',
      handlerId: h2.id,
    });
    expect(blockedAnywhere.body.items.map((i: any) => i.matterId).sort()).toEqual(
      [ids.late, ids.elsewhere].sort(),
    );
  });

  it('pages with a cursor, each filing once', async () => {
    const first = await report('/v1/reports/exceptions', { source: SOURCE, limit: '2' });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await report('/v1/reports/exceptions', {
      source: SOURCE,
      limit: '2',
      cursor: first.body.nextCursor,
    });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const all = await report('/v1/reports/exceptions', { source: SOURCE });
    expect([...first.body.items, ...second.body.items]).toEqual(all.body.items);
  });

  it('exports CSV for ?format=csv, quoted and with formulas defused', async () => {
    const res = await report('/v1/reports/exceptions', { source: SOURCE, format: 'csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="exception-filings_[\d-]+_[\d-]+\.csv"$/,
    );
    const json = (await report('/v1/reports/exceptions', { source: SOURCE })).body.items;
    const rows = csvRows(res.body);
    expect(rows[0]).toEqual([
      'filed_at',
      'event_type',
      'source',
      'external_id',
      'title',
      'filed_by',
      'description',
      'fields',
      'matter_id',
      'filing_id',
    ]);
    expect(rows.slice(1)).toEqual(
      json.map((f: any) => [
        f.filedAt,
        f.eventType,
        f.source,
        f.externalId,
        f.title,
        f.filedBy,
        f.description.startsWith('=') ? `'${f.description}` : f.description,
        '{}',
        f.matterId,
        f.id,
      ]),
    );
    expect(res.body).toContain(`"'=HYPERLINK(""http://evil"") 数据, 不符"`);
  });
});

describe('GET /v1/reports/exceptions/daily', () => {
  const expectedCounts = (timeZone: string) => {
    const counts = new Map<string, number>();
    for (const m of [matters.done1, matters.moved, matters.late]) {
      const key = `${dayIn(m.exceptions[0].filedAt, timeZone)}|${m.exceptions[0].eventType}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts]
      .map(([key, count]) => {
        const [day, eventType] = key.split('|') as [string, string];
        return { day, eventType, count };
      })
      .sort((a, b) => a.day.localeCompare(b.day) || a.eventType.localeCompare(b.eventType));
  };

  it('counts a source’s filings per type per day, in UTC by default', async () => {
    const res = await report('/v1/reports/exceptions/daily', { source: SOURCE });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.timeZone).toBe('UTC');
    expect(res.body.items).toEqual(expectedCounts('UTC'));
    expect(res.body.items.reduce((n: number, i: any) => n + i.count, 0)).toBe(3);
  });

  it('takes days in the given zone, and narrows by type', async () => {
    const res = await report('/v1/reports/exceptions/daily', { source: SOURCE, timeZone: 'Asia/Shanghai' });
    expect(res.body.items).toEqual(expectedCounts('Asia/Shanghai'));
    const blocked = await report('/v1/reports/exceptions/daily', { source: SOURCE, eventType: 'BLOCKED' });
    expect(blocked.body.items).toEqual([
      { day: dayIn(matters.late.exceptions[0].filedAt, 'UTC'), eventType: 'BLOCKED', count: 1 },
    ]);
  });

  it('answers CSV', async () => {
    const res = await report('/v1/reports/exceptions/daily', { source: SOURCE, format: 'csv' });
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="exception-filings-daily_/);
    expect(csvRows(res.body)).toEqual([
      ['day', 'event_type', 'count'],
      ...expectedCounts('UTC').map((c) => [c.day, c.eventType, String(c.count)]),
    ]);
  });
});

describe('report access and input', () => {
  it.each(['/v1/reports/matters', '/v1/reports/exceptions', '/v1/reports/exceptions/daily'])(
    '%s refuses a handler and a source with 403',
    async (path) => {
      expect((await report(path, {}, { token: h1.token })).status).toBe(403);
      const source = await issueToken(stack, `rpt-src-${randomUUID().slice(0, 6)}`, 'source');
      expect((await report(path, {}, { token: source })).status).toBe(403);
    },
  );

  const bad = (path: string, params: Record<string, string>) =>
    call(stack, 'GET', `${path}?${new URLSearchParams(params)}`, { token: auditor });

  it.each(['/v1/reports/matters', '/v1/reports/exceptions', '/v1/reports/exceptions/daily'])(
    '%s refuses a bad range with 400 naming the field',
    async (path) => {
      const backwards = await bad(path, { from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' });
      expect(backwards.status).toBe(400);
      expect(backwards.body.error.code).toBe('INVALID_RANGE');
      expect(backwards.body.error.details).toEqual([expect.objectContaining({ field: 'querystring.from' })]);

      const empty = await bad(path, { from: '2024-01-01T00:00:00Z', to: '2024-01-01T00:00:00Z' });
      expect(empty.body.error.code).toBe('INVALID_RANGE');

      const tooLong = await bad(path, { from: '2023-01-01T00:00:00Z', to: '2024-01-03T00:00:00Z' });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error.code).toBe('RANGE_TOO_LONG');
      expect(tooLong.body.error.details).toEqual([expect.objectContaining({ field: 'querystring.to' })]);

      const notADate = await bad(path, { from: 'yesterday' });
      expect(notADate.status).toBe(400);
      expect(notADate.body.error.code).toBe('VALIDATION_FAILED');
      expect(notADate.body.error.details).toEqual([expect.objectContaining({ field: 'querystring.from' })]);
    },
  );

  it('accepts exactly 366 days', async () => {
    const res = await bad('/v1/reports/matters', {
      from: '2023-01-01T00:00:00Z',
      to: '2024-01-02T00:00:00Z',
    });
    expect(res.status).toBe(200);
  });

  it('refuses an unknown time zone and a bad cursor with 400 naming the field', async () => {
    const zone = await bad('/v1/reports/exceptions/daily', { timeZone: 'Mars/Olympus_Mons' });
    expect(zone.status).toBe(400);
    expect(zone.body.error.code).toBe('INVALID_TIME_ZONE');
    expect(zone.body.error.details).toEqual([expect.objectContaining({ field: 'querystring.timeZone' })]);
    const offset = await bad('/v1/reports/exceptions/daily', { timeZone: '+08:00' });
    expect(offset.status).toBe(400);
    expect(offset.body.error.details).toEqual([expect.objectContaining({ field: 'querystring.timeZone' })]);
    const cursor = await bad('/v1/reports/exceptions', { cursor: 'not-a-cursor' });
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.code).toBe('INVALID_CURSOR');
  });
});
