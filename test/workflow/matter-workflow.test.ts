/**
 * Workflow tests for `matterWorkflow` on Temporal's time-skipping test server, with fake activities.
 *
 * - The test server is never downloaded: its path comes from `testServerPath()` (src/runtime/tools.ts: env
 *   TEMPORAL_TEST_SERVER, else .tools/paths.json).
 * - The time-skipping server rejects `upsertSearchAttributes` for unknown keys (the workflow task fails
 *   with "search attribute MatterDueAt is not defined" and is retried forever), so the workflow's search
 *   attributes are registered once per environment through `operatorService.addSearchAttributes`, which
 *   the test server implements (ListSearchAttributes it does not).
 * - The test server's clock starts at real "now", so each matter's `createdAt` is `env.currentTimeMs()`.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import {
  Client,
  type WorkflowHandle,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type {
  DeliverNoticeInput,
  DeliveryReport,
  HandlerRef,
  RecordEventInput,
} from '../../src/activities/contracts.js';
import { HANDLER_ACTIONS } from '../../src/activities/contracts.js';
import type { MatterActivities } from '../../src/activities/index.js';
import type { ScheduledChange } from '../../src/domain/actions.js';
import { ROUND_THE_CLOCK } from '../../src/domain/calendar.js';
import type { MatterInput, MatterState } from '../../src/domain/matter.js';
import type { PlanningContext } from '../../src/domain/planner.js';
import type { ReminderRule } from '../../src/domain/reminder-rule.js';
import type { matterWorkflow } from '../../src/workflows/matter.js';
import {
  acknowledgeUpdate,
  cancelUpdate,
  completeUpdate,
  fileExceptionUpdate,
  modifyUpdate,
  scheduleChangeUpdate,
  stateQuery,
  transferUpdate,
} from '../../src/workflows/messages.js';
import { MatterEscalationLevel, MatterHandler, MatterStatus } from '../../src/workflows/search-attributes.js';
import { startMatterEnvironment } from '../support/time-skipping.js';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const MINUTE = 60 * SECOND;
const DAY = 24 * HOUR;
/** Timers fire at the workflow task's time, a few ms after the planned instant; allow a little more. */
const SKEW = 5 * SECOND;

/** The in-memory handler directory `findHandler` answers from. */
const DIRECTORY: Record<string, HandlerRef> = {
  alice: { id: 'alice', name: 'Alice', active: true, supervisorId: 'sam' },
  bob: { id: 'bob', name: 'Bob', active: true, supervisorId: 'sam' },
  dora: { id: 'dora', name: 'Dora (left)', active: false, supervisorId: 'sam' },
  sam: { id: 'sam', name: 'Sam', active: true, supervisorId: null },
};

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleOption;

beforeAll(async () => {
  ({ env, workflowBundle } = await startMatterEnvironment());
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

// ---------------------------------------------------------------------------------------------------------
// Fakes and harness
// ---------------------------------------------------------------------------------------------------------

type Call =
  | { activity: 'recordEvent'; seq: number; type: string }
  | { activity: 'deliverNotice'; seq: number; type: string; attempt: number }
  | { activity: 'findHandler'; id: string }
  | { activity: 'convergeMessages'; type: string };

interface Fake {
  activities: Pick<
    MatterActivities,
    'recordEvent' | 'findHandler' | 'deliverNotice' | 'loadPlanningContext' | 'convergeMessages'
  >;
  events: RecordEventInput[];
  notices: DeliverNoticeInput[];
  lookups: string[];
  /** Every activity call, in the order they happened. */
  calls: Call[];
}

type Deliver = (input: DeliverNoticeInput) => Promise<DeliveryReport>;

const recipientOf = (notice: DeliverNoticeInput | undefined): string | undefined =>
  notice && 'handlerId' in notice.recipient ? notice.recipient.handlerId : undefined;

function fakeActivities(
  deliver: Deliver = async () => 'delivered',
  planning: PlanningContext = { calendar: ROUND_THE_CLOCK, quiet: null },
  planningGate: Promise<void> = Promise.resolve(),
): Fake {
  const fake: Fake = {
    events: [],
    notices: [],
    lookups: [],
    calls: [],
    activities: {
      async recordEvent(input) {
        fake.events.push(input);
        fake.calls.push({ activity: 'recordEvent', seq: input.seq, type: input.type });
      },
      async loadPlanningContext() {
        await planningGate;
        return planning;
      },
      async findHandler(id) {
        fake.lookups.push(id);
        fake.calls.push({ activity: 'findHandler', id });
        return DIRECTORY[id] ?? null;
      },
      async convergeMessages(input) {
        fake.calls.push({ activity: 'convergeMessages', type: input.type });
        return 'converged';
      },
      async deliverNotice(input) {
        fake.notices.push(input);
        const { attempt } = Context.current().info;
        fake.calls.push({ activity: 'deliverNotice', seq: input.seq, type: input.type, attempt });
        return deliver(input);
      },
    },
  };
  return fake;
}

interface MatterOptions {
  rule: ReminderRule;
  handlerId?: string;
  /** Due time as an offset from createdAt. */
  dueInMs?: number;
  deliver?: Deliver;
  planning?: PlanningContext;
  /** Holds the run's first activity, so a test can land an action before the assignment is recorded. */
  planningGate?: Promise<void>;
}

interface Run {
  handle: WorkflowHandle<typeof matterWorkflow>;
  input: MatterInput;
  createdAtMs: number;
  fake: Fake;
}

/** Starts one matter on its own task queue and runs `body` while a worker with fake activities serves it. */
async function withMatter<T>(opts: MatterOptions, body: (run: Run) => Promise<T>): Promise<T> {
  const fake = fakeActivities(opts.deliver, opts.planning, opts.planningGate);
  const id = randomUUID();
  const taskQueue = `matter-wf-test-${id}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: fake.activities,
  });
  return worker.runUntil(async () => {
    const createdAtMs = await env.currentTimeMs();
    const input: MatterInput = {
      id,
      source: 'loans',
      externalId: `ext-${id}`,
      title: 'Approve loan 42',
      details: null,
      link: null,
      dueAt: opts.dueInMs === undefined ? null : new Date(createdAtMs + opts.dueInMs).toISOString(),
      priority: 'normal',
      reminderRule: opts.rule,
      handlerId: opts.handlerId ?? 'alice',
      createdBy: 'loans',
      createdAt: new Date(createdAtMs).toISOString(),
    };
    const handle = await env.client.workflow.start<typeof matterWorkflow>('matterWorkflow', {
      args: [input],
      taskQueue,
      workflowId: `matter:test:${id}`,
    });
    try {
      return await body({ handle, input, createdAtMs, fake });
    } finally {
      await endQuietly(handle);
    }
  });
}

/**
 * Closes a matter left open the way production does (its handler completes it) and waits, in real time, for
 * the run to end, so that nothing of it can hold up time skipping on the shared server for later tests:
 * - its timers would fire during a later test's skip, and their workflow tasks would wait forever on this
 *   (by then stopped) worker's queue: pending work locks the test server's clock;
 * - terminating instead is unsafe: a run terminated with an activity (or workflow task) in flight leaks a
 *   time-skipping lock on the test server (temporalio/sdk-java#1138), after which `env.sleep` hangs or
 *   crawls in real time. A completed run has awaited all its activities.
 * It polls `describe` rather than awaiting `handle.result()`: the time-skipping client's `result()` unlocks
 * time skipping while it waits, and the server then jumps ~10 years ahead (to the closed run's default
 * execution timeout) before the lock is taken back.
 */
async function endQuietly(handle: Run['handle']): Promise<void> {
  const state = await handle.query(stateQuery).catch(() => null);
  if (state?.status === 'open') {
    await handle
      .executeUpdate(completeUpdate, { args: [{ actorId: state.handlerId ?? '', outcome: 'test over' }] })
      .catch(() => undefined);
  }
  const deadline = Date.now() + 10_000;
  while ((await handle.describe()).status.name === 'RUNNING') {
    if (Date.now() > deadline) throw new Error(`${handle.workflowId} did not end after its completion`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The run's result without the time-skipping client's unlock (see `endQuietly`): for runs that end without
 * needing time to pass.
 */
function resultOf(handle: Run['handle']): Promise<MatterState> {
  return new Client({ connection: env.connection }).workflow
    .getHandle<typeof matterWorkflow>(handle.workflowId)
    .result();
}

/** Waits in real time (the test server's clock does not jump meanwhile) until `check` stops throwing. */
function eventually<T>(check: () => T): Promise<T> {
  return vi.waitFor(check, { timeout: 10_000, interval: 20 });
}

const at = (iso: string) => Date.parse(iso);
const ofType = (fake: Fake, type: string) => fake.events.filter((e) => e.type === type);
const noticesOfType = (fake: Fake, type: string) => fake.notices.filter((n) => n.type === type);

/** Offsets (ms since `originMs`) of the events, for readable failure output. */
const offsets = (events: RecordEventInput[], originMs: number) =>
  events.map((e) => at(e.occurredAt) - originMs);

function expectNear(actualMs: number, expectedMs: number, label = ''): void {
  expect(Math.abs(actualMs - expectedMs), `${label}: off by ${actualMs - expectedMs} ms`).toBeLessThanOrEqual(
    SKEW,
  );
}

function expectOffsets(events: RecordEventInput[], originMs: number, expected: number[]): void {
  expect(events.length, `events at ${JSON.stringify(offsets(events, originMs))}`).toBe(expected.length);
  events.forEach((e, i) => {
    expectNear(at(e.occurredAt) - originMs, expected[i]!, `${e.type} #${i}`);
  });
}

/** The notice the workflow sent for an event (same seq and type). */
function noticeFor(fake: Fake, event: RecordEventInput): DeliverNoticeInput | undefined {
  return fake.notices.find((n) => n.seq === event.seq && n.type === event.type);
}

async function refusal(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the update was expected to be refused').toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

describe('matterWorkflow on the time-skipping test server', { timeout: 60_000 }, () => {
  it('1. fires reminders at createdAt+1d, +2d, +3d (maxCount 3), each followed by a notice to the handler', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 3 } }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(5 * DAY);

      const [assigned, ...rest] = fake.events;
      expect(assigned?.type).toBe('matter.assigned');
      expect(assigned?.seq).toBe(1);
      expect(assigned?.actorId).toBe('loans');
      expect(assigned?.data).toEqual({ handlerId: 'alice' });
      expectNear(at(assigned!.occurredAt), createdAtMs, 'matter.assigned');
      expect(noticeFor(fake, assigned!)).toMatchObject({
        recipient: { kind: 'handler', handlerId: 'alice' },
        actions: HANDLER_ACTIONS,
        issuedAt: assigned!.occurredAt,
      });

      expect(rest.map((e) => e.type)).toEqual(['matter.reminder', 'matter.reminder', 'matter.reminder']);
      expectOffsets(rest, createdAtMs, [1 * DAY, 2 * DAY, 3 * DAY]);
      expect(rest.map((e) => e.data)).toEqual([
        { index: 0, skipped: 0 },
        { index: 1, skipped: 0 },
        { index: 2, skipped: 0 },
      ]);
      for (const reminder of rest) {
        expect(noticeFor(fake, reminder)).toMatchObject({
          type: 'matter.reminder',
          recipient: { kind: 'handler', handlerId: 'alice' },
          actions: ['complete', 'transfer', 'exception'],
          issuedAt: reminder.occurredAt,
          state: reminder.state,
        });
      }
      // Strictly: record, notify, record, notify, ...
      expect(fake.calls.map((c) => `${c.activity}:${'seq' in c ? c.seq : ''}`)).toEqual(
        [1, 2, 3, 4].flatMap((seq) => [`recordEvent:${seq}`, `deliverNotice:${seq}`]),
      );

      const state = await handle.query(stateQuery);
      expect(state).toMatchObject({ status: 'open', remindersSent: 3, seq: 4, nextNoticeAt: null });
    });
  });

  it('2. honours firstAfter: reminders at +2h and +26h', async () => {
    const rule = { firstAfter: 'PT2H', every: 'P1D', maxCount: 2 };
    await withMatter({ rule }, async ({ createdAtMs, fake }) => {
      await env.sleep(3 * DAY);
      expectOffsets(ofType(fake, 'matter.reminder'), createdAtMs, [2 * HOUR, 26 * HOUR]);
      expect(noticesOfType(fake, 'matter.reminder')).toHaveLength(2);
    });
  });

  describe('3. escalation', () => {
    it('without a dueAt: one matter.escalated at assignment+2d, noticed to the handler’s supervisor', async () => {
      const rule = { every: 'P1D', maxCount: 5, escalateAfter: 'P2D' };
      await withMatter({ rule }, async ({ handle, createdAtMs, fake }) => {
        await env.sleep(4.5 * DAY);
        const escalations = ofType(fake, 'matter.escalated');
        expectOffsets(escalations, createdAtMs, [2 * DAY]);
        expect(escalations[0]!.data).toEqual({ handlerId: 'alice' });
        expect(escalations[0]!.actorId).toBeNull();
        expect(noticeFor(fake, escalations[0]!)).toMatchObject({
          recipient: { kind: 'supervisorOf', handlerId: 'alice' },
          actions: [],
          issuedAt: escalations[0]!.occurredAt,
        });
        // Reminders go on around the escalation (the one due at +2d too).
        expectOffsets(ofType(fake, 'matter.reminder'), createdAtMs, [1 * DAY, 2 * DAY, 3 * DAY, 4 * DAY]);
        expect(await handle.query(stateQuery)).toMatchObject({ escalated: true, status: 'open' });
      });
    });

    it('with a dueAt: escalateAfter counts from dueAt, not from assignment', async () => {
      const rule = { every: 'P1D', maxCount: 5, escalateAfter: 'P2D' };
      await withMatter({ rule, dueInMs: 1.5 * DAY }, async ({ createdAtMs, fake }) => {
        await env.sleep(3 * DAY);
        expect(ofType(fake, 'matter.escalated'), 'no escalation before dueAt+2d').toHaveLength(0);
        await env.sleep(1 * DAY);
        const escalations = ofType(fake, 'matter.escalated');
        expectOffsets(escalations, createdAtMs, [1.5 * DAY + 2 * DAY]);
        expect(noticeFor(fake, escalations[0]!)?.recipient).toEqual({
          kind: 'supervisorOf',
          handlerId: 'alice',
        });
      });
    });
  });

  it('4. completion stops reminders and ends the workflow with the completed state', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 5 } }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(1.5 * DAY);
      const update = await handle.executeUpdate(completeUpdate, {
        args: [{ actorId: 'alice', outcome: 'done' }],
      });
      expect(update.state).toMatchObject({ status: 'completed', completedBy: 'alice', outcome: 'done' });

      const result = await handle.result();
      expect(result).toMatchObject({
        status: 'completed',
        completedBy: 'alice',
        outcome: 'done',
        nextNoticeAt: null,
        remindersSent: 1,
      });
      const completedAt = at(result.completedAt!);
      expectNear(completedAt - createdAtMs, 1.5 * DAY, 'completedAt');

      const [completed, ...more] = ofType(fake, 'matter.completed');
      expect(more).toHaveLength(0);
      expect(completed).toMatchObject({ actorId: 'alice', data: { outcome: 'done', comment: null } });
      expect(completed!.occurredAt).toBe(result.completedAt);
      expect(noticeFor(fake, completed!)).toMatchObject({
        recipient: { kind: 'handler', handlerId: 'alice' },
        actions: [],
      });

      // Skip well past the old schedule: nothing more happens.
      await env.sleep(4 * DAY);
      const reminders = ofType(fake, 'matter.reminder');
      expectOffsets(reminders, createdAtMs, [1 * DAY]);
      expect(fake.events.filter((e) => at(e.occurredAt) > completedAt)).toEqual([]);
      expect(fake.events.at(-1)?.type).toBe('matter.completed');
      // The cards already sent are brought up to date once, after the completion is recorded.
      const converging = fake.calls.filter((c) => c.activity === 'convergeMessages');
      expect(converging).toEqual([{ activity: 'convergeMessages', type: 'matter.completed' }]);
      const recordedAt = fake.calls.findIndex(
        (c) => c.activity === 'recordEvent' && c.type === 'matter.completed',
      );
      expect(fake.calls.indexOf(converging[0]!)).toBeGreaterThan(recordedAt);

      const described = await handle.describe();
      expect(described.status.name).toBe('COMPLETED');
      expect(described.typedSearchAttributes.get(MatterStatus)).toBe('completed');
    });
  });

  it('an action that arrives with the start is recorded after the assignment, and checked again then', async () => {
    let release!: () => void;
    const planningGate = new Promise<void>((resolve) => (release = resolve));
    await withMatter({ rule: { every: 'P1D' }, planningGate }, async ({ handle, fake }) => {
      // Acknowledging keeps the run open: the test server mishandles a run that ends beside a refused Update.
      const first = await handle.startUpdate(acknowledgeUpdate, {
        args: [{ actorId: 'alice', note: 'on it' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      const second = await handle.startUpdate(acknowledgeUpdate, {
        args: [{ actorId: 'alice' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      // Both were accepted while the run still loads its planning context: nothing may be on record yet.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fake.events).toEqual([]);
      release();
      expect(await first.result()).toMatchObject({ seq: 2, state: { status: 'open' } });
      // Admitted before the first was on record, refused once it is.
      const refused = await second
        .result()
        .catch((err: WorkflowUpdateFailedError) => err.cause as ApplicationFailure);
      expect((refused as ApplicationFailure).type).toBe('ALREADY_ACKNOWLEDGED');
      expect(fake.events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'matter.assigned'],
        [2, 'matter.acknowledged'],
      ]);
    });
  });

  it('5. transfer re-targets reminders to the new handler, counted from the transfer', async () => {
    const rule = { every: 'P1D', maxCount: 3 };
    await withMatter({ rule }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(1.5 * DAY);
      const reason = 'alice is on leave';
      const update = await handle.executeUpdate(transferUpdate, {
        args: [{ actorId: 'alice', toHandlerId: 'bob', reason }],
      });
      expect(fake.lookups).toEqual(['bob']);

      const [transferred, ...more] = ofType(fake, 'matter.transferred');
      expect(more).toHaveLength(0);
      expect(transferred).toMatchObject({ actorId: 'alice', data: { from: 'alice', to: 'bob', reason } });
      const transferAt = at(transferred!.occurredAt);
      expectNear(transferAt - createdAtMs, 1.5 * DAY, 'transfer');
      expect(update).toEqual({ seq: transferred!.seq, state: transferred!.state });
      expect(update.state).toMatchObject({
        handlerId: 'bob',
        assignedAt: transferred!.occurredAt,
        transferCount: 1,
      });

      // The notice to bob goes out at once, beside the Update's return: no time passes.
      const transferNotice = await eventually(
        () => noticeFor(fake, transferred!) ?? expect.fail('no notice yet'),
      );
      expect(transferNotice).toMatchObject({
        type: 'matter.transferred',
        recipient: { kind: 'handler', handlerId: 'bob' },
        actions: HANDLER_ACTIONS,
        issuedAt: transferred!.occurredAt,
        data: { from: 'alice', reason },
      });

      await env.sleep(3.5 * DAY);
      const reminders = ofType(fake, 'matter.reminder');
      const before = reminders.filter((r) => at(r.occurredAt) < transferAt);
      const after = reminders.filter((r) => at(r.occurredAt) > transferAt);
      expectOffsets(before, createdAtMs, [1 * DAY]);
      expect(before.map((r) => noticeFor(fake, r)?.recipient)).toEqual([
        { kind: 'handler', handlerId: 'alice' },
      ]);
      // New count (maxCount 3 again) from the transfer, not the old +2d/+3d slots.
      expectOffsets(after, transferAt, [1 * DAY, 2 * DAY, 3 * DAY]);
      expect(after.map((r) => r.data.index)).toEqual([0, 1, 2]);
      expect(after.map((r) => noticeFor(fake, r)?.recipient)).toEqual(
        after.map(() => ({ kind: 'handler', handlerId: 'bob' })),
      );
      expect(fake.notices.filter((n) => at(n.issuedAt) > transferAt).map((n) => recipientOf(n))).toEqual(
        after.map(() => 'bob'),
      );

      const state = await handle.query(stateQuery);
      expect(state).toMatchObject({ handlerId: 'bob', status: 'open', remindersSent: 3, transferCount: 1 });
      expect((await handle.describe()).typedSearchAttributes.get(MatterHandler)).toBe('bob');
    });
  });

  it('6. filing an exception records it and notifies the supervisor; the matter stays open', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 3 } }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(0.5 * DAY);
      const filing = {
        eventType: 'missing-document',
        description: 'The signed contract is not attached',
        fields: { documentId: 'D-17', pages: 3 },
      };
      const update = await handle.executeUpdate(fileExceptionUpdate, {
        args: [{ actorId: 'alice', ...filing }],
      });

      const [filed, ...more] = ofType(fake, 'exception.filed');
      expect(more).toHaveLength(0);
      expect(filed).toMatchObject({ actorId: 'alice', data: filing });
      expect(update).toEqual({ seq: filed!.seq, state: filed!.state });
      const notice = await eventually(() => noticeFor(fake, filed!) ?? expect.fail('no notice yet'));
      expect(notice).toMatchObject({
        recipient: { kind: 'supervisorOf', handlerId: 'alice' },
        actions: [],
        data: filing,
        issuedAt: filed!.occurredAt,
      });

      const state = await handle.query(stateQuery);
      expect(state).toMatchObject({ status: 'open', handlerId: 'alice', exceptionCount: 1 });
      expect((await handle.describe()).status.name).toBe('RUNNING');

      // Reminders carry on as planned.
      await env.sleep(1 * DAY);
      expectOffsets(ofType(fake, 'matter.reminder'), createdAtMs, [1 * DAY]);
    });
  });

  describe('7. every refused Update leaves the state unchanged', () => {
    const cases = [
      {
        name: 'complete by a non-handler',
        code: 'NOT_YOUR_MATTER',
        send: (h: Run['handle']) =>
          h.executeUpdate(completeUpdate, { args: [{ actorId: 'bob', outcome: 'done' }] }),
      },
      {
        name: 'transfer to self',
        code: 'TRANSFER_TO_SELF',
        send: (h: Run['handle']) =>
          h.executeUpdate(transferUpdate, {
            args: [{ actorId: 'alice', toHandlerId: 'alice', reason: 'why not' }],
          }),
      },
      {
        name: 'transfer to an unknown handler',
        code: 'UNKNOWN_HANDLER',
        lookup: 'nobody',
        send: (h: Run['handle']) =>
          h.executeUpdate(transferUpdate, {
            args: [{ actorId: 'alice', toHandlerId: 'nobody', reason: 'help' }],
          }),
      },
      {
        name: 'transfer to an inactive handler',
        code: 'UNKNOWN_HANDLER',
        lookup: 'dora',
        send: (h: Run['handle']) =>
          h.executeUpdate(transferUpdate, {
            args: [{ actorId: 'alice', toHandlerId: 'dora', reason: 'help' }],
          }),
      },
      {
        name: 'transfer with an empty reason',
        code: 'INVALID_ACTION',
        send: (h: Run['handle']) =>
          h.executeUpdate(transferUpdate, { args: [{ actorId: 'alice', toHandlerId: 'bob', reason: '' }] }),
      },
    ];

    it.each(cases)('$name → $code', async ({ code, send, lookup }) => {
      await withMatter({ rule: { every: 'P1D', maxCount: 3 } }, async ({ handle, fake }) => {
        await env.sleep(1.5 * DAY);
        const before = await handle.query(stateQuery);
        const recorded = fake.events.length;

        const failure = await refusal(send(handle));
        expect(failure.type).toBe(code);
        expect(failure.nonRetryable).toBe(true);

        expect(await handle.query(stateQuery)).toEqual(before);
        expect(fake.events).toHaveLength(recorded);
        expect(fake.lookups).toEqual(lookup ? [lookup] : []);
      });
    });

    it('complete after completion → MATTER_NOT_OPEN naming who completed it', async () => {
      // Hold the completion notice so the workflow is still running (it ends right after delivering it).
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const deliver: Deliver = async (input) => {
        if (input.type === 'matter.completed') await held;
        return 'delivered';
      };
      await withMatter({ rule: { every: 'P1D', maxCount: 3 }, deliver }, async ({ handle, fake }) => {
        try {
          await env.sleep(1.5 * DAY);
          await handle.executeUpdate(completeUpdate, { args: [{ actorId: 'alice', outcome: 'done' }] });
          const afterCompletion = await handle.query(stateQuery);
          expect(afterCompletion).toMatchObject({ status: 'completed', completedBy: 'alice' });
          const recorded = fake.events.length;

          const failure = await refusal(
            handle.executeUpdate(completeUpdate, { args: [{ actorId: 'alice', outcome: 'again' }] }),
          );
          expect(failure.type).toBe('MATTER_NOT_OPEN');
          expect(failure.message).toMatch(/completed by alice/);

          expect(await handle.query(stateQuery)).toEqual(afterCompletion);
          expect(fake.events).toHaveLength(recorded);
        } finally {
          release();
        }
        expect(await resultOf(handle)).toMatchObject({
          status: 'completed',
          completedBy: 'alice',
          outcome: 'done',
        });
      });
    });
  });

  it('8. a failing deliverNotice does not stop the matter: reminders continue', async () => {
    const deliver: Deliver = async (input) => {
      throw ApplicationFailure.nonRetryable(`channel down for ${input.type}`, 'DELIVERY_FAILED');
    };
    await withMatter(
      { rule: { every: 'P1D', maxCount: 3 }, deliver },
      async ({ handle, createdAtMs, fake }) => {
        await env.sleep(3.5 * DAY);
        expect(fake.events.map((e) => e.type)).toEqual([
          'matter.assigned',
          'matter.reminder',
          'matter.reminder',
          'matter.reminder',
        ]);
        expectOffsets(ofType(fake, 'matter.reminder'), createdAtMs, [1 * DAY, 2 * DAY, 3 * DAY]);
        // Non-retryable: one attempt per notice, then the workflow moves on.
        const deliveries = fake.calls.filter((c) => c.activity === 'deliverNotice');
        expect(deliveries.map((c) => [c.seq, c.attempt])).toEqual([
          [1, 1],
          [2, 1],
          [3, 1],
          [4, 1],
        ]);
        expect((await handle.describe()).status.name).toBe('RUNNING');
        expect(await handle.query(stateQuery)).toMatchObject({ status: 'open', remindersSent: 3 });
        // And it still takes actions.
        const update = await handle.executeUpdate(completeUpdate, { args: [{ actorId: 'alice' }] });
        expect(update.state.status).toBe('completed');
        expect((await resultOf(handle)).status).toBe('completed');
      },
    );
  });

  it('15. a notice held back by a channel’s send limit is asked for again after the wait, durably, without spending retries', async () => {
    let throttles = 2;
    const deliver: Deliver = async (input) =>
      input.type === 'matter.assigned' && throttles-- > 0 ? { throttledForMs: 10 * MINUTE } : 'delivered';
    await withMatter({ rule: { every: 'P1D', maxCount: 1 }, deliver }, async ({ handle, fake }) => {
      const asks = () =>
        fake.calls.filter(
          (c): c is Extract<Call, { activity: 'deliverNotice' }> =>
            c.activity === 'deliverNotice' && c.seq === 1,
        );
      await env.sleep(5 * MINUTE);
      expect(asks()).toHaveLength(1);
      await env.sleep(20 * MINUTE);
      expect(asks().map((c) => c.attempt)).toEqual([1, 1, 1]);
      expect(await handle.query(stateQuery)).toMatchObject({ status: 'open', remindersSent: 0 });
    });
  });

  // Each event's `state` is what the `matters` projection (and so the API's nextNoticeAt) is set from, but the
  // workflow records events before it re-plans: the assigned event says null, each reminder names itself, and
  // a transfer still names the old handler's next slot. The stateQuery, re-planned meanwhile, is right.
  it('10. a notice stuck at one receiver does not hold back the transfer notice to the new handler', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const delivered: number[] = [];
    const deliver: Deliver = async (notice) => {
      if (recipientOf(notice) === 'alice') await gate;
      delivered.push(notice.seq);
      return 'delivered';
    };
    await withMatter({ rule: { every: 'P1D', maxCount: 3 }, deliver }, async ({ handle, fake }) => {
      await eventually(() => expect(noticesOfType(fake, 'matter.assigned')).toHaveLength(1));
      await handle.executeUpdate(transferUpdate, {
        args: [{ actorId: 'alice', toHandlerId: 'bob', reason: 'alice’s inbox is down' }],
      });
      const [transferred] = ofType(fake, 'matter.transferred');
      await eventually(() => expect(delivered).toContain(transferred!.seq));
      expect(delivered).not.toContain(1);
      release();
      await eventually(() => expect(delivered).toContain(1));
    });
  });

  it('11. a modified due time re-plans the escalation: none at the old time, one at the new', async () => {
    const rule = { every: 'P1D', maxCount: 5, escalateAfter: 'PT12H' };
    await withMatter({ rule, dueInMs: 1 * DAY }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(0.5 * DAY);
      const newDue = new Date(createdAtMs + 3 * DAY).toISOString();
      const update = await handle.executeUpdate(modifyUpdate, {
        args: [{ actorId: 'mgr-1', reason: 'customer asked for more time', dueAt: newDue }],
      });
      expect(update.state).toMatchObject({ dueAt: newDue, handlerId: 'alice', status: 'open' });
      const [modified] = ofType(fake, 'matter.modified');
      expect(modified).toMatchObject({
        actorId: 'mgr-1',
        data: { reason: 'customer asked for more time', changes: { dueAt: { to: newDue } } },
      });
      expect(modified!.state.nextNoticeAt).toBe(new Date(createdAtMs + 1 * DAY).toISOString());
      const notice = await eventually(() => noticeFor(fake, modified!) ?? expect.fail('no notice yet'));
      expect(notice).toMatchObject({
        type: 'matter.modified',
        recipient: { kind: 'handler', handlerId: 'alice' },
      });

      await env.sleep(2 * DAY);
      expect(ofType(fake, 'matter.escalated')).toEqual([]);
      await env.sleep(1.5 * DAY);
      expectOffsets(ofType(fake, 'matter.escalated'), createdAtMs, [3.5 * DAY]);
    });
  });

  it('12. a modified handler gets the matter at once and its reminders from then; bad changes are refused', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 2 } }, async ({ handle, fake }) => {
      await env.sleep(0.5 * DAY);
      const before = await handle.query(stateQuery);
      const noChange = await refusal(
        handle.executeUpdate(modifyUpdate, {
          args: [{ actorId: 'mgr-1', reason: 'x', title: before.title }],
        }),
      );
      expect(noChange.type).toBe('INVALID_ACTION');
      const ghost = await refusal(
        handle.executeUpdate(modifyUpdate, { args: [{ actorId: 'mgr-1', reason: 'x', handlerId: 'ghost' }] }),
      );
      expect(ghost.type).toBe('UNKNOWN_HANDLER');
      expect(await handle.query(stateQuery)).toEqual(before);

      await handle.executeUpdate(modifyUpdate, {
        args: [{ actorId: 'mgr-1', reason: 'team change', handlerId: 'bob', title: 'Approve loan 43' }],
      });
      const [modified] = ofType(fake, 'matter.modified');
      // A new handler hears of the matter as assigned to them, under the modification's sequence number.
      const notice = await eventually(
        () => fake.notices.find((n) => n.seq === modified!.seq) ?? expect.fail('no notice yet'),
      );
      expect(notice).toMatchObject({
        type: 'matter.assigned',
        recipient: { kind: 'handler', handlerId: 'bob' },
        actions: HANDLER_ACTIONS,
      });
      expect(notice.state).toMatchObject({ handlerId: 'bob', title: 'Approve loan 43', remindersSent: 0 });
      await env.sleep(2.5 * DAY);
      const reminders = ofType(fake, 'matter.reminder');
      expectOffsets(reminders, at(modified!.occurredAt), [1 * DAY, 2 * DAY]);
      expect(reminders.map((r) => recipientOf(noticeFor(fake, r)))).toEqual(['bob', 'bob']);
    });
  });

  it('13. cancelling ends the matter as cancelled: no more reminders, the handler is told without actions', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 5 } }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(1.5 * DAY);
      const update = await handle.executeUpdate(cancelUpdate, {
        args: [{ actorId: 'mgr-1', reason: 'duplicate' }],
      });
      expect(update.state.status).toBe('cancelled');
      const result = await resultOf(handle);
      expect(result.status).toBe('cancelled');
      const [cancelled] = ofType(fake, 'matter.cancelled');
      expect(cancelled).toMatchObject({ actorId: 'mgr-1', data: { reason: 'duplicate' } });
      expect(noticeFor(fake, cancelled!)).toMatchObject({ recipient: { handlerId: 'alice' }, actions: [] });
      expectOffsets(ofType(fake, 'matter.reminder'), createdAtMs, [1 * DAY]);
      expect((await handle.describe()).typedSearchAttributes.get(MatterStatus)).toBe('cancelled');
    });
  });

  it('14. an approved change with an effective time waits for it; one the matter no longer allows is recorded as failed', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 5 } }, async ({ handle, createdAtMs, fake }) => {
      const day = (n: number) => new Date(createdAtMs + n * DAY).toISOString();
      const revise = { actorId: 'mgr-1', reason: 'from Monday', title: 'Approve loan 42 (revised)' };
      const schedule = (change: ScheduledChange) =>
        handle.executeUpdate(scheduleChangeUpdate, { args: [change] });
      await schedule({
        changeRequestId: 'cr-2',
        effectiveAt: day(2.5),
        kind: 'delete',
        action: { actorId: 'mgr-1', reason: 'closing' },
      });
      await schedule({ changeRequestId: 'cr-1', effectiveAt: day(1.5), kind: 'modify', action: revise });
      // Valid when approved, but by its time cr-1 has already made the same change.
      await schedule({ changeRequestId: 'cr-3', effectiveAt: day(2), kind: 'modify', action: revise });
      const duplicate = await refusal(
        schedule({ changeRequestId: 'cr-1', effectiveAt: day(1.5), kind: 'modify', action: revise }),
      );
      expect(duplicate.type).toBe('INVALID_ACTION');
      const scheduled = (await handle.query(stateQuery)).scheduledChanges;
      expect(scheduled.map((c) => c.changeRequestId)).toEqual(['cr-1', 'cr-3', 'cr-2']);
      expect(ofType(fake, 'change.scheduled')).toHaveLength(3);

      await env.sleep(1 * DAY);
      expect(ofType(fake, 'matter.modified')).toEqual([]);
      await env.sleep(1.2 * DAY);
      expectOffsets(ofType(fake, 'matter.modified'), createdAtMs, [1.5 * DAY]);
      expect(ofType(fake, 'matter.modified')[0]!.state.title).toBe('Approve loan 42 (revised)');
      const [failed] = ofType(fake, 'change.failed');
      expectNear(at(failed!.occurredAt) - createdAtMs, 2 * DAY, 'failed change');
      expect(failed!.data).toMatchObject({ changeRequestId: 'cr-3', code: 'INVALID_ACTION' });

      await env.sleep(1 * DAY);
      const result = await resultOf(handle);
      expect(result).toMatchObject({ status: 'cancelled', scheduledChanges: [] });
      expectOffsets(ofType(fake, 'matter.cancelled'), createdAtMs, [2.5 * DAY]);
    });
  });

  it('9. every recorded event carries the next planned notice (nextNoticeAt feeds the matters projection)', async () => {
    await withMatter({ rule: { every: 'P1D', maxCount: 2 } }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(1.5 * DAY);
      expect((await handle.query(stateQuery)).nextNoticeAt).toBe(
        new Date(createdAtMs + 2 * DAY).toISOString(),
      );
      await handle.executeUpdate(transferUpdate, {
        args: [{ actorId: 'alice', toHandlerId: 'bob', reason: 'leave' }],
      });
      await env.sleep(2.5 * DAY);

      const transferAt = at(ofType(fake, 'matter.transferred')[0]!.occurredAt);
      const iso = (ms: number) => new Date(ms).toISOString();
      const seen = fake.events.map((e) => ({ type: e.type, nextNoticeAt: e.state.nextNoticeAt }));
      expect(seen).toEqual([
        { type: 'matter.assigned', nextNoticeAt: iso(createdAtMs + 1 * DAY) },
        { type: 'matter.reminder', nextNoticeAt: iso(createdAtMs + 2 * DAY) },
        { type: 'matter.transferred', nextNoticeAt: iso(transferAt + 1 * DAY) },
        { type: 'matter.reminder', nextNoticeAt: iso(transferAt + 2 * DAY) },
        { type: 'matter.reminder', nextNoticeAt: null },
      ]);
    });
  });
});

describe('the reminder engine in the workflow, over weeks of skipped time', { timeout: 300_000 }, () => {
  const LADDER: ReminderRule = {
    every: 'P7D',
    maxCount: 1,
    ladder: [
      { after: 'PT1H', to: 'handler', every: 'PT4H', maxCount: 3 },
      { after: 'P1D', to: 'supervisor', every: 'P1D', maxCount: 2 },
      { after: 'P3D', to: { handler: 'bob' }, channels: ['webhook'] },
    ],
  };
  const levels = (fake: Fake) => ofType(fake, 'matter.escalated').map((e) => e.data.level as number);

  it('climbs the ladder rung by rung, each at its own cadence and to its own recipient', async () => {
    await withMatter({ rule: LADDER, dueInMs: 1 * DAY }, async ({ handle, createdAtMs, fake }) => {
      const level = async () => (await handle.describe()).typedSearchAttributes.get(MatterEscalationLevel);
      // Set by the run's first workflow task, which may not have run yet.
      await eventually(async () =>
        expect(await level(), 'ops find matters by how far they escalated').toBe(0),
      );
      await env.sleep(21 * DAY);
      expect(await level()).toBe(3);
      const due = createdAtMs + 1 * DAY;
      const escalations = ofType(fake, 'matter.escalated');
      expectOffsets(escalations, due, [1 * HOUR, 5 * HOUR, 9 * HOUR, 1 * DAY, 2 * DAY, 3 * DAY]);
      expect(levels(fake)).toEqual([0, 0, 0, 1, 1, 2]);
      expect(escalations.map((e) => noticeFor(fake, e)?.recipient)).toEqual([
        ...Array.from({ length: 3 }, () => ({ kind: 'handler', handlerId: 'alice' })),
        ...Array.from({ length: 2 }, () => ({ kind: 'supervisorOf', handlerId: 'alice' })),
        { kind: 'handler', handlerId: 'bob' },
      ]);
      expect(noticeFor(fake, escalations[5]!)?.channels).toEqual(['webhook']);
    });
  });

  it('stops climbing once the handler acknowledges: the current rung finishes, no higher one starts', async () => {
    await withMatter({ rule: LADDER, dueInMs: 1 * DAY }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(1 * DAY + 2 * HOUR);
      expect(levels(fake)).toEqual([0]);
      const acked = await handle.executeUpdate(acknowledgeUpdate, {
        args: [{ actorId: 'alice', note: 'on it' }],
      });
      expect(acked.state.acknowledgedAt).not.toBeNull();
      const again = await handle
        .executeUpdate(acknowledgeUpdate, { args: [{ actorId: 'alice' }] })
        .catch((err: WorkflowUpdateFailedError) => err.cause as ApplicationFailure);
      expect((again as ApplicationFailure).type).toBe('ALREADY_ACKNOWLEDGED');
      await env.sleep(20 * DAY);
      expect(levels(fake)).toEqual([0, 0, 0]);
      expect(ofType(fake, 'matter.acknowledged')).toHaveLength(1);
      expectOffsets(ofType(fake, 'matter.escalated'), createdAtMs + 1 * DAY, [1 * HOUR, 5 * HOUR, 9 * HOUR]);
    });
  });

  it('re-arms before-due reminders and the ladder when the due date moves', async () => {
    const rule: ReminderRule = { every: 'P30D', maxCount: 1, beforeDue: ['P1D'], escalateAfter: 'P1D' };
    await withMatter({ rule, dueInMs: 5 * DAY }, async ({ handle, createdAtMs, fake }) => {
      await env.sleep(2 * DAY);
      await handle.executeUpdate(modifyUpdate, {
        args: [
          { actorId: 'mgr-1', reason: 'extended', dueAt: new Date(createdAtMs + 8 * DAY).toISOString() },
        ],
      });
      await env.sleep(12 * DAY);
      const beforeDue = ofType(fake, 'matter.reminder').filter((e) => e.data.beforeDue);
      expectOffsets(beforeDue, createdAtMs, [7 * DAY]);
      expectOffsets(ofType(fake, 'matter.escalated'), createdAtMs, [9 * DAY]);
    });
  });

  it('moves reminders out of the handler’s quiet hours, and sends urgent ones at once', async () => {
    const planning: PlanningContext = {
      calendar: ROUND_THE_CLOCK,
      quiet: { start: '22:00', end: '06:00', timeZone: 'UTC' },
    };
    for (const urgent of [false, true]) {
      await withMatter({ rule: { every: 'PT1H', maxCount: 48, urgent }, planning }, async ({ fake }) => {
        await env.sleep(2 * DAY);
        const hours = ofType(fake, 'matter.reminder').map((e) => new Date(e.occurredAt).getUTCHours());
        const quiet = hours.filter((h) => h >= 22 || h < 6);
        if (urgent) expect(quiet.length).toBeGreaterThan(0);
        else expect(quiet).toEqual([]);
      });
    }
  });

  it('runs 10,000 reminders across continue-as-new without losing or repeating one', async () => {
    await withMatter({ rule: { every: 'PT1M', maxCount: 10_000 } }, async ({ handle, fake }) => {
      const firstRun = (await handle.describe()).runId;
      // Small steps keep the test server's clock from running ahead of the run (which would fold slots).
      for (let minutes = 0; minutes <= 10_000; minutes += 250) await env.sleep(250 * 60 * SECOND);
      const reminders = () => ofType(fake, 'matter.reminder');
      await eventually(() => expect(reminders().at(-1)?.data.index).toBe(9_999));
      const indices = reminders().map((e) => e.data.index as number);
      const folded = reminders().reduce((n, e) => n + (e.data.skipped as number), 0);
      expect(indices.length + folded, 'every slot sent or folded, none twice').toBe(10_000);
      expect(indices.every((index, i) => i === 0 || index > indices[i - 1]!)).toBe(true);
      expect(folded, `folded ${folded} slots`).toBe(0);
      expect(ofType(fake, 'matter.assigned')).toHaveLength(1);
      expect((await handle.describe()).runId).not.toBe(firstRun);
    });
    // About 30 ms of test-server work per reminder; the budget leaves room for a busy CI machine.
  }, 900_000);
});
