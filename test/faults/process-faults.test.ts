/**
 * Issue 9, process faults: a source pushes a burst of matters whose reminders fall due within seconds, and
 * the worker, in a process of its own as deployed, is SIGKILLed in the middle of it and started again. Every
 * matter whose work was cut off or fell due meanwhile must resume within 15 s of the restart, every reminder
 * must be sent, and nothing may be doubled in `matter_events`, `notifications` or at the receiver.
 *
 * At the receiver, "once" means once per idempotency key, as a webhook receiver is asked to count: a notice
 * whose request was on the wire when the process died cannot be known to have arrived, so it is sent again
 * under the same key. Only those are allowed a second request; each is reported.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reminderEventFlaws } from '../support/reminder-events.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { SOAK, sized } from './soak.js';

const MATTERS = sized(1_000, 5_000);
const REMINDERS = 2;
const RULE = { firstAfter: 'PT2S', every: 'PT3S', maxCount: REMINDERS };
const HANDLERS = 20;
/** Items per bulk push, and the most matters left waiting for their first notice before the next push. */
const PER_PUSH = 50;
const WAITING_AT_MOST = 30;
/** The worker dies once this share of the burst has been assigned. */
const KILL_AT = 0.3;
const RESUME_WITHIN_MS = 15_000;
const DRAIN_MS = sized(240_000, 1_200_000);

let stack: TestStack;
const workers: WorkerProcess[] = [];
let stopPushing = false;

beforeAll(async () => {
  // One handler gets many reminders a minute, more than the anti-fatigue caps let through undigested.
  stack = await startStack({
    worker: false,
    env: { REMINDER_CAP_PER_HOUR: '10000', REMINDER_CAP_PER_DAY: '10000' },
  });
  workers.push(spawnWorker(stack.env));
  await workers[0]!.running();
}, 90_000);
afterAll(async () => {
  stopPushing = true;
  for (const worker of workers) await worker.kill();
  await stack?.close();
});

/** What each of the source's matters had done, and was waiting for, at one instant. */
interface MatterAt {
  id: string;
  workflowId: string;
  events: number;
  remindersSent: number;
  nextNoticeAt: Date | null;
  undelivered: number;
}

async function mattersAt(source: string): Promise<MatterAt[]> {
  return stack.sql<MatterAt[]>`
  select m.id, m.workflow_id as "workflowId", m.reminders_sent as "remindersSent",
    m.next_notice_at as "nextNoticeAt",
    (select count(*)::int from matter_events e where e.matter_id = m.id) as events,
    (select count(*)::int from notifications n where n.matter_id = m.id and n.status <> 'delivered') as undelivered
  from matters m where m.source = ${source}`;
}

/** A late reminder folds the ones that fell due meanwhile into itself (by design), so events may be fewer than slots. */
const finished = (m: MatterAt) => m.remindersSent === REMINDERS && m.events > 1 && !m.undelivered;

describe('when the worker process is SIGKILLed during a burst of matters with reminders due, and restarted', () => {
  it(
    `then every matter resumes within ${RESUME_WITHIN_MS / 1000} s, every reminder is sent, and nothing is doubled`,
    async () => {
      const handlers = await Promise.all(Array.from({ length: HANDLERS }, () => createHandler(stack)));
      const source = `pf${randomUUID().slice(0, 8)}`;
      const token = await issueToken(stack, source, 'source');
      const counts = async () => {
        const [row] = await stack.sql<{ created: number; assigned: number }[]>`
        select count(*)::int as created,
          count(*) filter (where exists (select 1 from matter_events e where e.matter_id = m.id))::int as assigned
        from matters m where m.source = ${source}`;
        return row!;
      };

      // The source pushes as fast as matters are taken up, so the burst is as dense as the system absorbs.
      let pushed = 0;
      const pushing = (async () => {
        while (!stopPushing && pushed < MATTERS) {
          const { created, assigned } = await counts();
          if (created - assigned > WAITING_AT_MOST) {
            await sleep(250);
            continue;
          }
          const items = Array.from({ length: Math.min(PER_PUSH, MATTERS - pushed) }, (_, k) => ({
            externalId: `m-${pushed + k}`,
            version: 1,
            title: `Reconcile nostro account ${pushed + k}`,
            handlerId: handlers[(pushed + k) % HANDLERS]!.id,
            reminderRule: RULE,
          }));
          const res = await call(stack, 'POST', `/v1/sources/${source}/matters/bulk`, {
            token,
            body: { items },
          });
          if (res.status !== 200 || res.body.counts.created !== items.length)
            throw new Error(`bulk push: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
          pushed += items.length;
        }
      })();

      await eventually(
        async () => (await counts()).assigned >= MATTERS * KILL_AT,
        `${KILL_AT * 100}% of the burst assigned`,
        DRAIN_MS,
      );
      await workers[0]!.kill();
      const killedAt = new Date();
      const receivedBeforeKill = stack.receiver.received.length;
      const atKill = new Map((await mattersAt(source)).map((m) => [m.id, m]));
      const deliveredAtKill = new Set(
        (
          await stack.sql<{ key: string }[]>`
          select n.idempotency_key as key from notifications n join matters m on m.id = n.matter_id
          where m.source = ${source} and n.status = 'delivered'`
        ).map((n) => n.key),
      );
      workers.push(spawnWorker(stack.env));
      await workers[1]!.running();
      const restartedAt = new Date();
      const atRestart = await mattersAt(source);

      await pushing;
      // Polled once a second with one cheap query: the test must not take the CPU the recovery needs.
      const drainedBy = Date.now() + DRAIN_MS;
      for (;;) {
        // A notice's row is written after its event's: the last reminder recorded is not yet the last noticed.
        const [row] = await stack.sql<{ done: number; undelivered: number; unnoticed: number }[]>`
        select count(*) filter (where m.reminders_sent = ${REMINDERS})::int as done,
          (select count(*)::int from notifications n join matters o on o.id = n.matter_id
           where o.source = ${source} and n.status <> 'delivered') as undelivered,
          (select count(*)::int from matter_events e join matters o on o.id = e.matter_id
           where o.source = ${source}
             and not exists (select 1 from notifications n where n.matter_id = e.matter_id and n.seq = e.seq)) as unnoticed
        from matters m where m.source = ${source}`;
        if (row!.done === MATTERS && row!.undelivered === 0 && row!.unnoticed === 0) break;
        if (Date.now() > drainedBy) {
          const behind = (await mattersAt(source)).filter((m) => !finished(m)).slice(0, 10);
          throw new Error(
            `all ${MATTERS} matters' reminders not recorded and delivered within ${DRAIN_MS} ms: behind ${JSON.stringify(behind)}\n${workers[1]!.output()}`,
          );
        }
        await sleep(1_000);
      }

      // A matter resumes at its first event or delivery after the kill. It was due to go on at the restart if
      // its work was cut off (a notice not yet delivered, or no event yet), else when its next reminder fell
      // due; matters created while the worker was away count from the restart too.
      const progress = await stack.sql<{ id: string; at: Date }[]>`
      select m.id, least(
          (select min(e.recorded_at) from matter_events e where e.matter_id = m.id and e.recorded_at > ${killedAt}),
          (select min(n.delivered_at) from notifications n where n.matter_id = m.id and n.delivered_at > ${killedAt})
        ) as at
      from matters m where m.source = ${source} and m.created_at < ${restartedAt}`;
      const resumedAt = new Map(progress.map((p) => [p.id, p.at]));
      const resumes = atRestart
        .map((m) => ({ m, was: atKill.get(m.id) ?? m }))
        .filter(({ was }) => !finished(was))
        .map(({ m, was }) => {
          const cutOff = was.events === 0 || was.undelivered > 0 || !was.nextNoticeAt;
          const dueAt = cutOff ? restartedAt : new Date(Math.max(+restartedAt, +was.nextNoticeAt!));
          const at = resumedAt.get(m.id);
          return {
            id: m.id,
            workflowId: m.workflowId,
            cutOff,
            ms: at ? +at - +dueAt : Number.POSITIVE_INFINITY,
          };
        })
        .sort((a, b) => b.ms - a.ms);
      const late = resumes.filter((r) => r.ms > RESUME_WITHIN_MS);

      // Postgres: each matter's events dense from 1, one assignment, each reminder slot once; one notice per event.
      const { flawed, events } = await reminderEventFlaws(stack.sql, source, REMINDERS);
      expect(flawed, 'matters whose events are missing, doubled or out of sequence').toEqual([]);
      const notifications = await stack.sql<{ key: string; status: string }[]>`
      select n.idempotency_key as key, n.status from notifications n join matters m on m.id = n.matter_id
      where m.source = ${source}`;
      expect(notifications, 'one notification for each event').toHaveLength(events);
      expect(notifications.filter((n) => n.status !== 'delivered')).toEqual([]);

      // The receiver: every notice arrived; a key came twice only if its first request was on the wire at
      // the kill, never for a notice already recorded as delivered, and never twice after the restart.
      const wanted = new Set(notifications.map((n) => n.key));
      const requests = new Map<string, number[]>();
      stack.receiver.received.forEach((hook, i) => {
        const key = hook.body.idempotencyKey;
        if (!wanted.has(key)) return;
        if (!requests.has(key)) requests.set(key, []);
        requests.get(key)!.push(i);
      });
      const lost = [...wanted].filter((k) => !requests.has(k));
      const repeated = [...requests].filter(([, at]) => at.length > 1);
      const crashRedeliveries = repeated.filter(
        ([key, at]) =>
          at.length === 2 &&
          at[0]! < receivedBeforeKill &&
          at[1]! >= receivedBeforeKill &&
          !deliveredAtKill.has(key),
      );
      const duplicated = repeated
        .filter((r) => !crashRedeliveries.includes(r))
        .map(([k, at]) => `${k} ×${at.length}`);

      console.info(
        `process faults: ${MATTERS} matters pushed, 1 worker SIGKILLed with ${atKill.size} matters started ` +
          `(${[...atKill.values()].filter((m) => !finished(m)).length} unfinished), restart took ` +
          `${+restartedAt - +killedAt} ms; ${resumes.length} matters to resume, slowest ` +
          `${resumes
            .slice(0, 3)
            .map((r) => `${r.ms} ms${r.cutOff ? ' (cut off)' : ''}`)
            .join(', ')}; ` +
          `${events} events, ${wanted.size} notices, ${requests.size} received; lost ${lost.length}, ` +
          `duplicated ${duplicated.length}, ${crashRedeliveries.length} resent under the same key after the kill`,
      );
      expect(lost, 'notices never received').toEqual([]);
      expect(duplicated, 'notices received more than once').toEqual([]);
      expect(resumes.length, 'matters were cut off by the kill').toBeGreaterThan(0);
      /** What the engine did with a matter after the kill, in ms from the restart: why it was late. */
      const afterKill = async (workflowId: string) => {
        const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
        return (history.events ?? [])
          .map((e) => ({
            at: Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6),
            e,
          }))
          .filter(({ at }) => at > +killedAt)
          .map(({ at, e }) => `${at - +restartedAt} ${Object.keys(e).find((k) => k.endsWith('Attributes'))}`)
          .join(', ');
      };
      const lateWithHistory = await Promise.all(
        late
          .slice(0, 5)
          .map(
            async (r) =>
              `${r.workflowId}: ${r.ms} ms${r.cutOff ? ' (cut off)' : ''}; after the kill, ms from the restart: ${await afterKill(r.workflowId)}`,
          ),
      );
      expect(
        lateWithHistory,
        `${late.length} of ${resumes.length} matters resumed later than ${RESUME_WITHIN_MS} ms after the restart or their due time (the first 5)`,
      ).toEqual([]);
    },
    SOAK ? 2_400_000 : 360_000,
  );
});
