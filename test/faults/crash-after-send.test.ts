/**
 * A notice's activity fails after its message went out but before Temporal hears that it completed, as when
 * a worker dies right after the send: Temporal runs the activity again. An activity interceptor on the real
 * worker runs the real `deliverNotice`, then throws a retryable error on its first attempt. The retry must
 * find the notice delivered and send nothing: the receiver gets each message once, and Postgres holds each
 * event and notice once.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliverNoticeInput } from '../../src/activities/contracts.js';
import { createLogger } from '../../src/logger.js';
import { type RunningWorker, startWorker } from '../../worker.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { SOAK, sized } from './soak.js';

const NOTICES = sized(1_000, 10_000);
/**
 * Each matter's assignment and then its reminders, two seconds apart: many notices for few matters. A worker
 * running late folds reminders that fell due meanwhile into one (by design), so a wave of matters may bring
 * fewer notices than planned: more matters follow until the failures injected reach NOTICES.
 */
const REMINDERS = 9;
const HANDLERS = 20;
const SOURCE = `crash${randomUUID().slice(0, 6)}`;

/** Per notice (workflow id and event seq): what the first attempt delivered before it was failed, and what the retry said. */
const injected = new Map<string, unknown>();
const retried = new Map<string, unknown>();

const crashAfterSend: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const result = await next(input);
      const { activityType, attempt } = ctx.info;
      if (activityType !== 'deliverNotice') return result;
      const { workflowId, seq } = input.args[0] as DeliverNoticeInput;
      const notice = `${workflowId}:${seq}`;
      if (attempt === 1 && result === 'delivered') {
        injected.set(notice, result);
        throw ApplicationFailure.retryable('worker lost after the send', 'INJECTED_CRASH');
      }
      if (attempt > 1) retried.set(notice, result);
      return result;
    },
  },
});

let stack: TestStack;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  // Caps high enough that no reminder waits for a digest.
  stack = await startStack({
    worker: false,
    env: { REMINDER_CAP_PER_HOUR: '10000', REMINDER_CAP_PER_DAY: '10000' },
  });
  worker = await startWorker({
    config: stack.config,
    sql: stack.sql,
    // The injected failures would each log a warning.
    log: createLogger('error'),
    metrics: stack.app.metrics,
    interceptors: { activity: [crashAfterSend] },
  });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await stack?.close();
});

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

describe('an activity that fails after its send', () => {
  it(
    `is retried without sending again: ${NOTICES} notices, each failed once after delivery, each received once`,
    async () => {
      const handlers = await Promise.all(Array.from({ length: HANDLERS }, () => createHandler(stack)));
      const token = await issueToken(stack, SOURCE, 'source');
      const matterIds: string[] = [];
      /** Assignments and reminders recorded, and matters whose reminders are all out. */
      const progress = async () => {
        const [row] = await stack.sql<{ notices: number; finished: number }[]>`
        select (select count(*)::int from matter_events e where e.matter_id = any(${matterIds}::uuid[])
            and e.type in ('matter.assigned', 'matter.reminder')) as notices,
          count(*) filter (where reminders_sent = ${REMINDERS})::int as finished
        from matters where id = any(${matterIds}::uuid[])`;
        return row!;
      };
      let notices = 0;
      while (notices < NOTICES) {
        // Sized by the notices per matter seen so far, so that one more wave is likely the last.
        const perMatter = matterIds.length ? notices / matterIds.length : 1 + REMINDERS;
        const wave = Math.ceil((NOTICES - notices) / perMatter);
        const first = matterIds.length;
        await inParallel(
          Array.from({ length: wave }, (_, i) => first + i),
          8,
          async (i) => {
            const res = await call(stack, 'POST', '/v1/matters', {
              token,
              body: {
                source: SOURCE,
                externalId: `m-${i}`,
                title: `Sign off payment run ${i}`,
                handlerId: handlers[i % HANDLERS]!.id,
                reminderRule: { firstAfter: 'PT2S', every: 'PT2S', maxCount: REMINDERS },
              },
            });
            expect(res.status).toBe(201);
            matterIds.push(res.body.id);
          },
        );
        notices = await eventually(
          async () => {
            const now = await progress();
            return now.finished === matterIds.length && now.notices;
          },
          'every reminder of the wave',
          SOAK ? 1_800_000 : 80_000,
        );
      }
      await eventually(
        async () => retried.size === notices,
        `the retry of each of ${notices} failed deliveries`,
      );

      // Every first attempt delivered and then failed; every retry found the notice delivered.
      expect(injected.size).toBe(notices);
      expect(new Set(retried.values())).toEqual(new Set(['already-delivered']));

      // The receiver: each notice once, under its own key, the header matching the signed body.
      const handlerPaths = new Set(handlers.map((h) => new URL(stack.receiver.addressFor(h.id)).pathname));
      const received = stack.receiver.received.filter((h) => handlerPaths.has(h.path));
      expect(received).toHaveLength(notices);
      const keys = new Set(received.map((h) => h.body.idempotencyKey));
      expect(keys.size).toBe(notices);
      for (const hook of received) {
        expect(hook.signatureValid).toBe(true);
        expect(hook.headers['idempotency-key']).toBe(hook.body.idempotencyKey);
      }
      const assignments = received.filter((h) => h.body.type === 'matter.assigned');
      expect(assignments.map((h) => h.body.matter.id).sort()).toEqual([...matterIds].sort());

      // Postgres: each notice once, delivered at its one logged attempt, under the key the receiver saw; each
      // event once.
      const logged = await stack.sql<{ key: string; status: string; attempts: number; logged: number }[]>`
      select n.idempotency_key as key, n.status, n.attempts,
        (select count(*)::int from notification_attempts a where a.notification_id = n.id) as logged
      from notifications n where n.matter_id = any(${matterIds}::uuid[])`;
      expect(logged).toHaveLength(notices);
      expect(logged.filter((r) => keys.has(r.key) && r.status === 'delivered')).toHaveLength(notices);
      expect(logged.filter((r) => r.attempts === 1 && r.logged === 1)).toHaveLength(notices);
      const [events] = await stack.sql<{ rows: number; distinct: number; assigned: number }[]>`
      select count(*)::int as rows, count(distinct (matter_id, seq))::int as distinct,
        count(*) filter (where type = 'matter.assigned')::int as assigned
      from matter_events where matter_id = any(${matterIds}::uuid[])`;
      expect(events).toEqual({ rows: notices, distinct: notices, assigned: matterIds.length });

      console.info(
        `crash after send: ${notices} notices (${matterIds.length} matters), ${injected.size} failures injected ` +
          `after the send, ${retried.size} retries, ${received.length} received, 0 lost, ` +
          `${received.length - keys.size} duplicated`,
      );
    },
    SOAK ? 2_000_000 : 110_000,
  );
});
