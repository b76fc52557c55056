import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/db/audit.js';
import { migrate } from '../../src/db/migrate.js';
import { PgCluster } from '../support/pg-cluster.js';
import {
  type ApiResponse,
  call,
  createHandler,
  eventually,
  issueToken,
  startStack,
  type TestStack,
} from '../support/stack.js';
import { sized } from './soak.js';

/**
 * Postgres goes away for OUTAGE_MS while source systems push matters and handlers act on them, on a
 * cluster of this file's own. What needs the database is refused with 503 DATABASE_UNAVAILABLE within
 * the request timeout (no 500, no hang), the clients retry as told, the workflows' activities retry by
 * themselves, and once the server is back every record is there exactly once.
 */

const OUTAGE_MS = sized(30, 120) * 1000;
/** Concurrent source systems pushing matters, and as many handlers acting on them. */
const CLIENTS = 2;
/** How long a refused client waits before it asks again. */
const CLIENT_RETRY_MS = 500;
const P = `dbo${randomUUID().slice(0, 6)}`;
const SOURCE = `${P}-src`;
/** Reminders fall due inside the outage for the matters pushed just before it. */
const RULE = { every: 'PT5S', maxCount: 2 };

type Op = 'create' | 'complete' | 'transfer' | 'inbox' | 'readyz' | 'healthz';
type Phase = 'before' | 'outage' | 'after';
interface Answer {
  op: Op;
  phase: Phase;
  status: number;
  code: string | null;
  message: string;
  ms: number;
  /** This request repeats one the API refused with 503. */
  retry: boolean;
  retryAfter: string | null;
  /** When it was asked, in ms since the test began. */
  at: number;
}
type Fate = 'completed' | 'transferred' | 'open';
interface Accepted {
  id: string;
  externalId: string;
  handler: { id: string; token: string };
  toHandlerId: string;
  fate: Fate;
  phase: Phase;
}

let cluster: PgCluster | undefined;
let down = false;
let stack: TestStack;
let phase: Phase = 'before';
const began = performance.now();
const answers: Answer[] = [];
const accepted: Accepted[] = [];
/** Accepted matters waiting for their handler's action. */
const toAct: Accepted[] = [];

beforeAll(async () => {
  cluster = await PgCluster.create();
  const url = await cluster.createDatabase(`matterflow_fault_test_${P}`);
  await migrate(url);
  stack = await startStack({
    // Reminders here are about retries, not the anti-fatigue caps that would fold them into digests.
    env: { DATABASE_URL: url, REMINDER_CAP_PER_HOUR: '10000', REMINDER_CAP_PER_DAY: '10000' },
  });
});

afterAll(async () => {
  try {
    // A failure mid-outage leaves the server down: started again, so the stack can drain before it goes.
    if (down) await cluster?.start();
    await stack?.close();
  } finally {
    await cluster?.drop();
  }
});

async function ask(op: Op, retry: boolean, send: () => Promise<ApiResponse>): Promise<ApiResponse> {
  const asked = phase;
  const started = performance.now();
  let res: ApiResponse;
  try {
    res = await send();
  } catch (err) {
    // No answer at all (reset, refused): recorded as status 0, which the test refuses.
    const message = String(err);
    answers.push({ op, phase: asked, status: 0, code: null, message, ms: 0, retry, retryAfter: null, at: 0 });
    throw err;
  }
  const error = (res.body as { error?: { code?: string; message?: string } } | null)?.error;
  answers.push({
    op,
    phase: asked,
    status: res.status,
    code: error?.code ?? null,
    message: error?.message ?? '',
    ms: performance.now() - started,
    retry,
    retryAfter: res.headers.get('retry-after'),
    at: started - began,
  });
  return res;
}

/** As a well-behaved client does: a 503 is asked again, the same request, after a pause. */
async function untilAnswered(
  op: Op,
  send: () => Promise<ApiResponse>,
): Promise<ApiResponse & { retried: boolean }> {
  for (let retried = false; ; retried = true) {
    const res = await ask(op, retried, send);
    if (res.status !== 503) return { ...res, retried };
    await new Promise((r) => setTimeout(r, CLIENT_RETRY_MS));
  }
}

/** A source system pushing matters one after another, each meant to be completed, transferred or left open. */
async function pusher(index: number, source: string, stopping: () => boolean): Promise<void> {
  const [from, to] = [await createHandler(stack), await createHandler(stack)];
  for (let n = 0; !stopping(); n++) {
    const externalId = `${P}-${index}-${n}`;
    const created = await untilAnswered('create', () =>
      call(stack, 'POST', '/v1/matters', {
        token: source,
        body: {
          source: SOURCE,
          externalId,
          title: `Outage ${externalId}`,
          handlerId: from.id,
          reminderRule: RULE,
        },
      }),
    );
    // A 503 may have come after the reservation was made: the same body again finds it (200).
    expect([created.retried ? 200 : 201, 201]).toContain(created.status);
    // Offset per source, so that both kinds of action wait in the handlers' queue at any moment.
    const fate: Fate = (['completed', 'transferred', 'open'] as const)[(n + index) % 3]!;
    const matter = { id: created.body.id, externalId, handler: from, toHandlerId: to.id, fate, phase };
    accepted.push(matter);
    if (fate !== 'open') toAct.push(matter);
  }
}

/** A handler acting on the matters pushed to them, as they come, until no more will come. */
async function actor(finished: () => boolean): Promise<void> {
  while (!finished() || toAct.length > 0) {
    const m = toAct.shift();
    if (!m) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const acted =
      m.fate === 'completed'
        ? await untilAnswered('complete', () =>
            call(stack, 'POST', `/v1/matters/${m.id}/complete`, {
              token: m.handler.token,
              body: { comment: 'done' },
            }),
          )
        : await untilAnswered('transfer', () =>
            call(stack, 'POST', `/v1/matters/${m.id}/transfer`, {
              token: m.handler.token,
              body: { toHandlerId: m.toHandlerId, reason: 'mine no more' },
            }),
          );
    // A 503 may have come while the workflow had already taken the action: asked again, it says so.
    const done = acted.retried ? [200, m.fate === 'completed' ? 409 : 403] : [200];
    expect(done, JSON.stringify(acted.body)).toContain(acted.status);
  }
}

/** What a monitor and a handler's inbox see, once a second, while the clients work. */
async function watch(handlerToken: string, stopping: () => boolean): Promise<void> {
  while (!stopping()) {
    await Promise.all([
      ask('healthz', false, () => call(stack, 'GET', '/healthz')),
      ask('readyz', false, () => call(stack, 'GET', '/readyz')),
      ask('inbox', false, () => call(stack, 'GET', '/v1/matters?status=open', { token: handlerToken })),
    ]);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const count = (xs: Answer[], where: (a: Answer) => boolean) => xs.filter(where).length;

describe('when Postgres stops while matters are pushed and acted on', () => {
  it(
    'answers 503 within the request timeout for what needs the database, and after the restart every record is there exactly once',
    async () => {
      const source = await issueToken(stack, SOURCE, 'source');
      const watcher = await createHandler(stack);
      let stopping = false;
      let pushed = false;
      const pushers = Array.from({ length: CLIENTS }, (_, i) => pusher(i, source, () => stopping));
      const actors = Array.from({ length: CLIENTS }, () => actor(() => pushed));
      const monitor = watch(watcher.token, () => stopping);
      const settled = Promise.allSettled([
        Promise.all(pushers).finally(() => {
          pushed = true;
        }),
        ...actors,
        monitor,
      ]);
      try {
        await eventually(async () => accepted.length >= 3 * CLIENTS, 'matters pushed before the outage');
        phase = 'outage';
        down = true;
        const stopAsked = Date.now();
        await cluster!.stop();
        const stoppedAt = Date.now();
        console.info(
          `database stopped in ${stoppedAt - stopAsked} ms, at ${Math.round(performance.now() - began)} ms`,
        );
        // The fault lasts as long as it lasts: there is nothing to poll for.
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        // Requests from here on may meet the server starting up.
        phase = 'after';
        console.info(`restart at ${Math.round(performance.now() - began)} ms`);
        await cluster!.start();
        down = false;
        console.info(`database outage: ${Math.round((Date.now() - stoppedAt) / 1000)} s`);
        const acceptedBefore = accepted.length;
        await eventually(
          async () => accepted.length >= acceptedBefore + 2 * CLIENTS,
          'matters pushed after the restart',
          60_000,
        );
      } finally {
        stopping = true;
      }
      for (const outcome of await settled) if (outcome.status === 'rejected') throw outcome.reason;

      // --- what the callers were told -------------------------------------------------------------
      const told = new Map<string, number>();
      for (const a of answers) {
        const key = `${a.phase} ${a.op} ${a.status}${a.code ? ` ${a.code}` : ''}`;
        told.set(key, (told.get(key) ?? 0) + 1);
      }
      console.info(JSON.stringify(Object.fromEntries([...told].sort())));
      const slowest = [...answers].sort((a, b) => b.ms - a.ms).slice(0, 5);
      console.info(
        `slowest answers: ${slowest.map((a) => `${a.op} ${a.status} ${a.code ?? ''} asked at ${Math.round(a.at)} ms took ${Math.round(a.ms)} ms`).join('; ')}`,
      );
      const limitMs = stack.config.actionTimeoutMs + 2000;
      const outage = answers.filter((a) => a.phase === 'outage');
      expect(answers.filter((a) => a.status === 0)).toEqual([]);
      expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
      expect(answers.filter((a) => a.ms > limitMs)).toEqual([]);
      const refusals = answers.filter((a) => a.status === 503 && a.op !== 'readyz');
      // Only the database's absence, or an action the engine could not finish because of it.
      expect(
        refusals.filter(
          (a) =>
            !(
              (a.code === 'DATABASE_UNAVAILABLE' && Number(a.retryAfter) > 0) ||
              (a.code === 'ENGINE_UNAVAILABLE' && a.op !== 'inbox')
            ) || a.message.length === 0,
        ),
      ).toEqual([]);
      for (const ops of [['create'], ['inbox'], ['complete', 'transfer']]) {
        expect(count(outage, (a) => ops.includes(a.op) && a.code === 'DATABASE_UNAVAILABLE')).toBeGreaterThan(
          0,
        );
      }
      expect(count(outage, (a) => a.op === 'readyz' && a.status === 503)).toBeGreaterThan(0);
      expect(count(outage, (a) => a.op === 'healthz' && a.status !== 200)).toBe(0);
      await eventually(
        async () => (await call(stack, 'GET', '/readyz')).status === 200,
        'ready again after the restart',
      );

      // --- the workflows catch up: every notice out, every reminder sent ----------------------------
      const ids = accepted.map((m) => m.id);
      await eventually(
        async () => {
          const [row] = await stack.sql<{ busy: number }[]>`
            select (select count(*) from matters
                     where id = any(${ids}) and status = 'open' and next_notice_at is not null)
                 + (select count(*) from notifications where matter_id = any(${ids}) and status = 'pending')
                 + (select count(*) from matter_events e where e.matter_id = any(${ids}) and not exists
                     (select 1 from notifications n where n.matter_id = e.matter_id and n.seq = e.seq))
                 + (select count(*) from matters m where id = any(${ids}) and not exists
                     (select 1 from matter_events e where e.matter_id = m.id)) as busy`;
          return Number(row!.busy) === 0;
        },
        'every matter settled after the restart',
        150_000,
      );

      // --- each accepted matter: one row, its events once and gapless, the actions once -------------
      const rows = await stack.sql<{ id: string; externalId: string; status: string; handlerId: string }[]>`
        select id, external_id as "externalId", status, handler_id as "handlerId"
        from matters where source = ${SOURCE}`;
      expect(rows.map((r) => r.externalId).sort()).toEqual(accepted.map((m) => m.externalId).sort());
      const byId = new Map(rows.map((r) => [r.id, r]));
      const events = await stack.sql<{ matterId: string; seq: number; type: string }[]>`
        select matter_id as "matterId", seq, type from matter_events where matter_id = any(${ids}) order by matter_id, seq`;
      for (const m of accepted) {
        const mine = events.filter((e) => e.matterId === m.id);
        expect(mine.map((e) => e.seq)).toEqual(mine.map((_, i) => i + 1));
        const typed = (type: string) => mine.filter((e) => e.type === type).length;
        expect(typed('matter.assigned')).toBe(1);
        expect(typed('matter.completed')).toBe(m.fate === 'completed' ? 1 : 0);
        expect(typed('matter.transferred')).toBe(m.fate === 'transferred' ? 1 : 0);
        expect(byId.get(m.id)?.status).toBe(m.fate === 'completed' ? 'completed' : 'open');
        expect(byId.get(m.id)?.handlerId).toBe(m.fate === 'transferred' ? m.toHandlerId : m.handler.id);
      }

      // --- every event's notice once, delivered; the receiver heard each one -----------------------
      const notices = await stack.sql<{ matterId: string; seq: number; key: string; status: string }[]>`
        select matter_id as "matterId", seq, idempotency_key as key, status
        from notifications where matter_id = any(${ids})`;
      const perEvent = new Map<string, number>();
      for (const n of notices)
        perEvent.set(`${n.matterId}:${n.seq}`, (perEvent.get(`${n.matterId}:${n.seq}`) ?? 0) + 1);
      expect(events.filter((e) => perEvent.get(`${e.matterId}:${e.seq}`) !== 1)).toEqual([]);
      expect(notices.filter((n) => n.status !== 'delivered')).toEqual([]);
      const received = stack.receiver.received.filter((h) => ids.includes(h.body.matter.id));
      const receivedKeys = new Set(received.map((h) => h.body.idempotencyKey));
      expect([...receivedKeys].sort()).toEqual(notices.map((n) => n.key).sort());
      expect(received.every((h) => h.signatureValid)).toBe(true);

      // --- the audit trail: each event once, the chain whole ---------------------------------------
      const audited = await stack.sql<{ entityId: string; seq: string; n: number }[]>`
        select entity_id as "entityId", data->>'seq' as seq, count(*)::int as n
        from audit_log where entity_type = 'matter' and entity_id = any(${ids}) group by 1, 2`;
      expect(audited.filter((a) => a.n !== 1)).toEqual([]);
      expect(audited.length).toBe(events.length);
      const chain = await verifyAuditChain(stack.sql);
      expect(chain.firstBreak).toBeNull();
      expect(chain.ok).toBe(true);

      // --- the activities that met the outage were retried by Temporal, not lost -------------------
      let retriedActivities = 0;
      let extraAttempts = 0;
      for (const m of accepted.filter((x) => x.phase === 'before')) {
        const history = await stack.temporal.workflow
          .getHandle(`matter:${SOURCE}:${m.externalId}`)
          .fetchHistory();
        for (const e of history.events ?? []) {
          const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
          if (attempt > 1) {
            retriedActivities += 1;
            extraAttempts += attempt - 1;
          }
        }
      }
      expect(retriedActivities).toBeGreaterThan(0);

      const by = (op: Op) => answers.filter((a) => a.op === op);
      console.info(
        JSON.stringify({
          outageSeconds: OUTAGE_MS / 1000,
          requests: answers.length,
          duringOutage: outage.length,
          refused503: {
            database: count(answers, (a) => a.code === 'DATABASE_UNAVAILABLE'),
            engine: count(answers, (a) => a.code === 'ENGINE_UNAVAILABLE'),
            readyz: count(answers, (a) => a.op === 'readyz' && a.status === 503),
          },
          slowestMs: Math.round(Math.max(...answers.map((a) => a.ms))),
          perOp: Object.fromEntries(
            (['create', 'complete', 'transfer', 'inbox'] as const).map((op) => [
              op,
              { asked: by(op).length, retries: count(by(op), (a) => a.retry) },
            ]),
          ),
          matters: accepted.length,
          mattersByFate: {
            completed: accepted.filter((m) => m.fate === 'completed').length,
            transferred: accepted.filter((m) => m.fate === 'transferred').length,
            open: accepted.filter((m) => m.fate === 'open').length,
          },
          events: events.length,
          notifications: notices.length,
          webhookDeliveries: received.length,
          webhookRedeliveries: received.length - receivedKeys.size,
          auditRowsChecked: chain.checked,
          retriedActivities,
          extraAttempts,
          lost: accepted.filter((m) => !byId.has(m.id)).length,
          duplicatedRows: rows.length - byId.size,
          duplicatedNotices: [...perEvent.values()].filter((n) => n > 1).length,
        }),
      );
    },
    OUTAGE_MS + 300_000,
  );
});
