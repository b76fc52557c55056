/**
 * Issue 9, engine restart: the test owns a file-backed Temporal dev server and takes it away twice while
 * matters are being created and their reminders fire, once with a graceful stop and once with SIGKILL, then
 * brings it back on the same file and port. Meanwhile the API refuses with 503 ENGINE_UNAVAILABLE; after,
 * nothing accepted is lost and nothing is sent twice.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/runtime/free-port.js';
import { type DevServer, startDevServer } from '../../src/runtime/temporal-dev-server.js';
import { temporalCliPath } from '../../src/runtime/tools.js';
import { MatterSource, MatterStatus } from '../../src/workflows/search-attributes.js';
import { reminderEventFlaws } from '../support/reminder-events.js';
import { call, createHandler, eventually, issueToken, startStack, type TestStack } from '../support/stack.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { sized } from './soak.js';

const MATTERS = sized(60, 600);
const REMINDERS = 2;
const RULE = { firstAfter: 'PT2S', every: 'PT3S', maxCount: REMINDERS };
const ACTION_TIMEOUT_MS = 3_000;
/** Beyond the action timeout, for the API's own work on a busy machine. */
const ANSWER_SLACK_MS = 4_000;
/** How long each stretch and the final drain may take. */
const WAIT_MS = sized(60_000, 300_000);
/** Refusals seen while the engine is away before it is brought back. */
const REFUSALS_PER_OUTAGE = 3;

let dir: string;
let port: number;
let server: DevServer | undefined;
let stack: TestStack;
let worker: WorkerProcess | undefined;
/** The test's clients push until this is set, by the test or, if it fails, by afterAll. */
let stopPushing = false;

/** The same file and port each time, as a restarted `npm start` would use. */
async function startEngine(): Promise<DevServer> {
  return startDevServer({ cli: temporalCliPath(), dbFile: join(dir, 'temporal.db'), port, uiPort: null });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-engine-restart-'));
  port = await freePort();
  server = await startEngine();
  // A create gives up on an absent engine after this long, so the outages stay short; one handler gets
  // every reminder, more than the anti-fatigue caps would let through.
  stack = await startStack({
    worker: false,
    temporalAddress: server.address,
    env: {
      ACTION_TIMEOUT_MS: String(ACTION_TIMEOUT_MS),
      REMINDER_CAP_PER_HOUR: '10000',
      REMINDER_CAP_PER_DAY: '10000',
    },
  });
  worker = spawnWorker(stack.env);
  await worker.running();
});
afterAll(async () => {
  stopPushing = true;
  await worker?.kill();
  await stack?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  externalId: string;
  status: number;
  code?: string;
  id?: string;
  /** How long the API took to answer. */
  ms: number;
}

describe('when the Temporal engine is stopped and restarted on its file while matters flow', () => {
  it(
    'then the API answers 503 ENGINE_UNAVAILABLE meanwhile, and every accepted matter keeps its workflow, events and notices, each once',
    async () => {
      const handler = await createHandler(stack);
      const source = `er${randomUUID().slice(0, 8)}`;
      const token = await issueToken(stack, source, 'source');
      const bodyOf = (externalId: string) => ({
        source,
        externalId,
        title: `Engine restart ${externalId}`,
        handlerId: handler.id,
        reminderRule: RULE,
      });
      const create = async (externalId: string): Promise<Answer> => {
        const started = Date.now();
        const res = await call(stack, 'POST', '/v1/matters', { token, body: bodyOf(externalId) });
        const ms = Date.now() - started;
        return { externalId, status: res.status, code: res.body?.error?.code, id: res.body?.id, ms };
      };

      // Two clients push a third of the matters in each stretch the engine is up, and without pause while it is away.
      const answers: Answer[] = [];
      let next = 0;
      let target = MATTERS / 3;
      const accepted = () => answers.filter((a) => a.status === 201).length;
      const push = () =>
        Promise.all(
          [0, 1].map(async () => {
            while (!stopPushing && accepted() < target) answers.push(await create(`m-${next++}`));
          }),
        );
      let pushing = push();
      /** The stretch's matters accepted and a reminder more delivered. */
      const steadyFlow = async (what: string) => {
        const reminders = () =>
          stack.receiver.received.filter((h) => h.body.type === 'matter.reminder').length;
        const before = reminders();
        await pushing;
        await eventually(async () => reminders() > before, `reminders firing ${what}`, WAIT_MS).catch(
          (err) => {
            throw new Error(`${(err as Error).message}; worker output: ${worker!.output()}`);
          },
        );
      };
      const refusedSince = (from: number) => answers.slice(from).filter((a) => a.status !== 201);

      const outages: { how: string; refused: number; readyz: number }[] = [];
      for (const how of ['graceful stop', 'SIGKILL'] as const) {
        await steadyFlow(`before the ${how}`);
        const from = answers.length;
        target = Number.POSITIVE_INFINITY;
        pushing = push();
        if (how === 'graceful stop') await server!.stop();
        else {
          const gone = new Promise((r) => server!.process.once('exit', r));
          server!.process.kill('SIGKILL');
          await gone;
        }
        server = undefined;
        await eventually(
          async () => refusedSince(from).length >= REFUSALS_PER_OUTAGE,
          `${REFUSALS_PER_OUTAGE} refusals while the engine is away (${how})`,
          WAIT_MS,
        ).catch((err) => {
          throw new Error(
            `${(err as Error).message}: answers since ${JSON.stringify(answers.slice(from - 2))}, ${answers.length} in all`,
          );
        });
        const readyz = await call(stack, 'GET', '/readyz');
        // Reads come from Postgres and go on without the engine.
        const someMatter = answers.find((a) => a.status === 201)!;
        const read = await call(stack, 'GET', `/v1/matters/${someMatter.id}`, { token: stack.adminToken });
        expect(read.status, `reading a matter while the engine is away: ${JSON.stringify(read.body)}`).toBe(
          200,
        );
        server = await startEngine();
        target = accepted() + MATTERS / 3;
        outages.push({ how, refused: refusedSince(from).length, readyz: readyz.status });
      }
      await steadyFlow('after the engine is back');

      const refusals = answers.filter((a) => a.status !== 201);
      expect(
        refusals.filter((a) => a.status !== 503 || a.code !== 'ENGINE_UNAVAILABLE'),
        'every refusal says the engine is unavailable',
      ).toEqual([]);
      expect(
        refusals.filter((a) => a.ms > ACTION_TIMEOUT_MS + ANSWER_SLACK_MS),
        'each refusal comes within the action timeout, not after the client’s whole retry budget',
      ).toEqual([]);
      expect(
        outages.map((o) => o.readyz),
        '/readyz reports not ready while the engine is away',
      ).toEqual([503, 503]);

      // A client sends a refused matter again once the engine is back: it is accepted, once.
      const retried = new Set(refusals.map((r) => r.externalId));
      for (const externalId of retried) {
        const again = await create(externalId);
        expect([200, 201], `resending ${externalId}: ${JSON.stringify(again)}`).toContain(again.status);
      }
      const [count] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from matters where source = ${source}`;
      const total = count!.n;
      expect(total, 'every distinct matter sent is there once').toBe(next);

      await eventually(
        async () => {
          const [row] = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from matters m where m.source = ${source} and m.reminders_sent = ${REMINDERS}
          and not exists (select 1 from matter_events e where e.matter_id = m.id and not exists (
            select 1 from notifications n where n.matter_id = e.matter_id and n.seq = e.seq and n.status = 'delivered'))`;
          return row!.n === total;
        },
        'every matter’s reminders recorded and every notice delivered',
        WAIT_MS,
      ).catch(async (err) => {
        const behind = await stack.sql`
        select m.external_id, m.reminders_sent, m.last_seq, m.created_at,
          (select max(recorded_at) from matter_events e where e.matter_id = m.id) as last_event,
          (select count(*)::int from notifications n where n.matter_id = m.id and n.status = 'delivered') as delivered
        from matters m where m.source = ${source} and m.reminders_sent < ${REMINDERS} order by m.created_at limit 10`;
        const undelivered = await stack.sql`
        select m.external_id, e.seq, e.type, e.recorded_at, n.status, n.attempts, n.last_error, n.updated_at
        from matter_events e join matters m on m.id = e.matter_id
        left join notifications n on n.matter_id = e.matter_id and n.seq = e.seq
        where m.source = ${source} and (n.status is distinct from 'delivered') limit 10`;
        throw new Error(
          `${(err as Error).message} at ${new Date().toISOString()}: behind ${JSON.stringify(behind)}; undelivered ${JSON.stringify(undelivered)}; resent ${[...retried].join(',')}\n${worker!.output()}`,
        );
      });

      // Each matter's workflow survived the restarts, with its search attributes.
      const matters = await stack.sql<{ id: string; workflowId: string }[]>`
      select id, workflow_id as "workflowId" from matters where source = ${source}`;
      const runs = await Promise.all(
        matters.map((m) => stack.temporal.workflow.getHandle(m.workflowId).describe()),
      );
      expect(runs.filter((r) => r.status.name !== 'RUNNING').map((r) => r.workflowId)).toEqual([]);
      expect(
        runs.filter(
          (r) =>
            r.typedSearchAttributes.get(MatterStatus) !== 'open' ||
            r.typedSearchAttributes.get(MatterSource) !== source,
        ),
        'search attributes kept by the restarted engine',
      ).toEqual([]);

      const { flawed, events } = await reminderEventFlaws(stack.sql, source, REMINDERS);
      expect(flawed, 'matters whose events are missing, doubled or out of sequence').toEqual([]);

      const notifications = await stack.sql<{ key: string }[]>`
      select n.idempotency_key as key from notifications n join matters m on m.id = n.matter_id
      where m.source = ${source}`;
      expect(notifications, 'one notification for each event').toHaveLength(events);
      const wanted = new Set(notifications.map((n) => n.key));
      const deliveries = new Map<string, number>();
      for (const hook of stack.receiver.received) {
        const key = hook.body.idempotencyKey;
        if (wanted.has(key)) deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      }
      const lost = [...wanted].filter((k) => !deliveries.has(k));
      const duplicated = [...deliveries].filter(([, n]) => n > 1).map(([k, n]) => `${k} ×${n}`);
      console.info(
        `engine restart: ${answers.length + retried.size} creates (${total} matters, ${refusals.length} refused ` +
          `with 503 and resent), ${outages.length} engine faults (${outages.map((o) => `${o.how}: ${o.refused} refused`).join(', ')}), ` +
          `${events} events, ${deliveries.size} notices received; lost ${lost.length}, duplicated ${duplicated.length}`,
      );
      expect(lost, 'notices never received').toEqual([]);
      expect(duplicated, 'notices received more than once').toEqual([]);
    },
    sized(170_000, 1_500_000),
  );
});
