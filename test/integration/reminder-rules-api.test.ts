import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHANGHAI_OFFICE } from '../support/calendars.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let manager: string;
let reviewer: string;
const SHANGHAI = `cn-sh-${randomUUID().slice(0, 6)}`;
const SHANGHAI_CALENDAR = {
  code: SHANGHAI,
  name: '上海分行',
  ...SHANGHAI_OFFICE,
  holidays: ['2026-10-01', '2026-10-02'],
  workdays: ['2026-10-10'],
};

beforeAll(async () => {
  stack = await startStack();
  manager = await issueToken(stack, 'mgr-rules', 'manager');
  reviewer = await issueToken(stack, 'rev-rules', 'reviewer');
  const res = await call(stack, 'POST', '/v1/calendars', {
    token: manager,
    body: SHANGHAI_CALENDAR,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
});
afterAll(async () => stack?.close());

const WORKING_RULE = () => ({
  clock: 'working',
  calendar: SHANGHAI,
  every: 'PT4H',
  maxCount: 3,
  ladder: [{ after: 'P1D', to: 'supervisor' }],
});

const preview = (body: Record<string, unknown>, token = manager) =>
  call(stack, 'POST', '/v1/reminder-rules/preview', { token, body });

describe('business calendars', () => {
  it('keeps every version, and refuses a calendar that makes no sense, naming the field', async () => {
    const again = await call(stack, 'POST', '/v1/calendars', {
      token: manager,
      body: { ...SHANGHAI_CALENDAR, holidays: [...SHANGHAI_CALENDAR.holidays, '2026-10-05'] },
    });
    expect(again.body.version).toBe(2);
    const versions = await call(stack, 'GET', `/v1/calendars/${SHANGHAI}`, { token: manager });
    expect(versions.body.items.map((c: { version: number }) => c.version)).toEqual([2, 1]);
    const bad = await call(stack, 'POST', '/v1/calendars', {
      token: manager,
      body: {
        code: 'bad-cal',
        name: 'x',
        timeZone: 'Mars/Olympus',
        workingDays: [1],
        workingHours: [{ start: '09:00', end: '17:00' }],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_CALENDAR', details: [{ field: 'body.timeZone' }] });
    const overlapping = await call(stack, 'POST', '/v1/calendars', {
      token: manager,
      body: {
        code: 'bad-cal',
        name: 'x',
        timeZone: 'UTC',
        workingDays: [1],
        workingHours: [
          { start: '09:00', end: '13:00' },
          { start: '12:00', end: '17:00' },
        ],
      },
    });
    expect(overlapping.body.error.code).toBe('INVALID_CALENDAR');
    const audit = await stack.sql`
      select count(*)::int as n from audit_log where entity_type = 'business_calendar' and entity_id like ${`${SHANGHAI}@%`}`;
    expect(audit[0]!.n).toBe(2);
  });
});

describe('POST /v1/reminder-rules/preview', () => {
  it('counts working hours and working days on the calendar (Friday 17:50 in Shanghai)', async () => {
    const res = await preview({
      rule: WORKING_RULE(),
      assignedAt: '2026-11-20T17:50:00+08:00',
      dueAt: '2026-11-23T18:00:00+08:00',
      count: 10,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.timeZone).toBe('Asia/Shanghai');
    expect(res.body.items.map((n: { at: string; kind: string }) => [n.kind, n.at])).toEqual([
      ['reminder', '2026-11-23T05:50:00.000Z'],
      ['reminder', '2026-11-23T09:50:00.000Z'],
      ['reminder', '2026-11-24T05:50:00.000Z'],
      // Due Monday at the close of business; one working day later is the start of Wednesday.
      ['escalation', '2026-11-25T01:00:00.000Z'],
    ]);
    expect(res.body.items[3]).toMatchObject({ level: 0, to: 'supervisor' });
  });

  it('moves notices out of the handler’s quiet hours, folding those that land in the same spell', async () => {
    const h = await createHandler(stack);
    await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
      token: manager,
      body: { timezone: 'Asia/Shanghai', quietHours: { start: '22:00', end: '08:00' } },
    });
    const res = await preview({
      rule: { every: 'PT1H', maxCount: 20 },
      handlerId: h.id,
      assignedAt: '2026-11-23T20:30:00+08:00',
      count: 4,
    });
    expect(res.body.quietHours).toEqual({ start: '22:00', end: '08:00', timeZone: 'Asia/Shanghai' });
    expect(res.body.items.map((n: { at: string; skipped: number }) => [n.at, n.skipped])).toEqual([
      ['2026-11-23T13:30:00.000Z', 0],
      // The slots from 22:30 to 07:30 go out as one when quiet hours end.
      ['2026-11-24T00:00:00.000Z', 9],
      ['2026-11-24T00:30:00.000Z', 0],
      ['2026-11-24T01:30:00.000Z', 0],
    ]);
    const urgent = await preview({
      rule: { every: 'PT1H', maxCount: 20, urgent: true },
      handlerId: h.id,
      assignedAt: '2026-11-23T20:30:00+08:00',
      count: 2,
    });
    expect(urgent.body.items.map((n: { at: string }) => n.at)).toEqual([
      '2026-11-23T13:30:00.000Z',
      '2026-11-23T14:30:00.000Z',
    ]);
  });

  it('keeps a handler’s own reminder caps, back to the default with null, and refuses caps that cannot hold, naming the field', async () => {
    const h = await createHandler(stack);
    const set = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
      token: manager,
      body: { reminderCaps: { perHour: 4, perDay: 12 } },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.reminderCaps).toEqual({ perHour: 4, perDay: 12 });
    expect((await call(stack, 'GET', `/v1/handlers/${h.id}`, { token: manager })).body.reminderCaps).toEqual({
      perHour: 4,
      perDay: 12,
    });
    const above = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
      token: manager,
      body: { reminderCaps: { perHour: 30, perDay: 12 } },
    });
    expect(above.status).toBe(400);
    expect(above.body.error).toMatchObject({
      code: 'INVALID_REMINDER_CAPS',
      details: [{ field: 'body.reminderCaps.perHour' }],
    });
    const zero = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
      token: manager,
      body: { reminderCaps: { perHour: 0, perDay: 12 } },
    });
    expect(zero.status).toBe(400);
    expect((await call(stack, 'GET', `/v1/handlers/${h.id}`, { token: manager })).body.reminderCaps).toEqual({
      perHour: 4,
      perDay: 12,
    });
    const cleared = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
      token: manager,
      body: { reminderCaps: null },
    });
    expect(cleared.body.reminderCaps).toBeNull();
    const audit = await stack.sql<{ action: string }[]>`
      select action from audit_log where entity_type = 'handler' and entity_id = ${h.id} order by id`;
    expect(audit.map((a) => a.action)).toEqual(['handler.created', 'handler.updated', 'handler.updated']);
  });

  it('refuses a bad rule or an unknown calendar with the field named', async () => {
    const bad = await preview({ rule: { every: 'PT1H', cron: '0 9 * * *' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ field: 'body.rule.every' }]);
    const ladder = await preview({
      rule: {
        every: 'PT1H',
        ladder: [
          { after: 'P1D', to: 'supervisor' },
          { after: 'PT1H', to: 'handler' },
        ],
      },
    });
    expect(ladder.body.error.details).toEqual([{ field: 'body.rule.ladder[1].after' }]);
    const unknown = await preview({ rule: { every: 'PT1H', calendar: 'nowhere' } });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'UNKNOWN_CALENDAR']);
    const neither = await preview({ count: 3 });
    expect(neither.body.error.code).toBe('RULE_REQUIRED');
  });
});

describe('rules at work', () => {
  it('shows the reminder schedule on the review screen of a change request', async () => {
    const h = await createHandler(stack);
    const proposed = await call(stack, 'POST', '/v1/change-requests', {
      token: manager,
      body: {
        kind: 'add',
        reason: 'new loan file',
        matter: {
          source: 'loans',
          externalId: randomUUID(),
          title: 'Review collateral',
          handlerId: h.id,
          dueAt: '2030-01-07T18:00:00+08:00',
          reminderRule: WORKING_RULE(),
        },
      },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const screen = await call(stack, 'GET', `/v1/change-requests/${proposed.body.id}`, { token: reviewer });
    expect(screen.body.preview.timeZone).toBe('Asia/Shanghai');
    expect(screen.body.preview.items.length).toBeGreaterThan(0);
    expect(screen.body.preview.items.at(-1)).toMatchObject({ kind: 'escalation', to: 'supervisor' });
  });

  it('lets the handler acknowledge once, recorded and audited, and refuses anyone else', async () => {
    const source = await issueToken(stack, 'loans-ack', 'source');
    const h = await createHandler(stack);
    const other = await createHandler(stack);
    const created = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: {
        source: 'loans-ack',
        externalId: randomUUID(),
        title: 'Sign off',
        handlerId: h.id,
        reminderRule: { every: 'PT1H', ladder: [{ after: 'PT1H', to: 'supervisor' }] },
      },
    });
    const id = created.body.id;
    const url = `/v1/matters/${id}/acknowledge`;
    expect((await call(stack, 'POST', url, { token: other.token, body: {} })).status).toBe(403);
    const ok = await call(stack, 'POST', url, { token: h.token, body: { note: 'looking at it' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const twice = await call(stack, 'POST', url, { token: h.token, body: {} });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'ALREADY_ACKNOWLEDGED']);
    await eventually(async () => {
      const rows = await stack.sql`
        select actor_id from audit_log where entity_id = ${id} and action = 'matter.acknowledged'`;
      return rows.length === 1 && rows[0]!.actor_id === h.id;
    }, 'the acknowledgement in the audit trail');
  });

  it('plans a running matter on its calendar and the handler’s quiet hours', async () => {
    const source = await issueToken(stack, 'loans-cal', 'source');
    const h = await createHandler(stack);
    const created = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: {
        source: 'loans-cal',
        externalId: randomUUID(),
        title: 'Working-time matter',
        handlerId: h.id,
        reminderRule: { clock: 'working', calendar: SHANGHAI, every: 'PT4H' },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const matter = await eventually(async () => {
      const res = await call(stack, 'GET', `/v1/matters/${created.body.id}`, { token: manager });
      return res.body.nextNoticeAt && res.body;
    }, 'the first planned notice');
    const planned = await preview({
      rule: { clock: 'working', calendar: SHANGHAI, every: 'PT4H' },
      assignedAt: matter.assignedAt,
      count: 1,
    });
    expect(matter.nextNoticeAt).toBe(planned.body.items[0].at);
    expect(await activitiesScheduled(created.body.workflowId)).not.toContain('loadPlanningContext');
  });

  it('starts a matter with the quiet hours read as it was created: its run plans with them and looks nothing up', async () => {
    const source = await issueToken(stack, 'loans-quiet', 'source');
    const h = await createHandler(stack);
    // Quiet from half an hour from now for five hours: the first hourly reminder falls inside.
    const hhmm = (ms: number) => new Date(Date.now() + ms).toISOString().slice(11, 16);
    const quietHours = { start: hhmm(30 * 60_000), end: hhmm(5 * 3600_000) };
    const patched = await call(stack, 'PATCH', `/v1/handlers/${h.id}`, {
      token: manager,
      body: { timezone: 'UTC', quietHours },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const rule = { every: 'PT1H', maxCount: 3 };
    const created = await call(stack, 'POST', '/v1/matters', {
      token: source,
      body: {
        source: 'loans-quiet',
        externalId: randomUUID(),
        title: 'Quiet matter',
        handlerId: h.id,
        reminderRule: rule,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const matter = await eventually(async () => {
      const res = await call(stack, 'GET', `/v1/matters/${created.body.id}`, { token: manager });
      return res.body.nextNoticeAt && res.body;
    }, 'the first planned notice');
    const planned = await preview({ rule, handlerId: h.id, assignedAt: matter.assignedAt, count: 1 });
    const hourLater = new Date(Date.parse(matter.assignedAt) + 3600_000).toISOString();
    expect(planned.body.items[0].at, 'the quiet hours move the first reminder').not.toBe(hourLater);
    expect(planned.body.items[0].at.slice(11, 16)).toBe(quietHours.end);
    expect(matter.nextNoticeAt).toBe(planned.body.items[0].at);
    expect(await activitiesScheduled(created.body.workflowId)).not.toContain('loadPlanningContext');
  });
});

/** The activity types a run has scheduled so far, in order. */
async function activitiesScheduled(workflowId: string): Promise<string[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}
