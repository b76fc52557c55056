/**
 * One matter on the time-skipping test server (test/support/time-skipping.ts), served by a worker of its own
 * with fake activities that keep what the run asked of them. For workflow tests outside
 * test/workflow/matter-workflow.test.ts, whose harness is its own.
 */
import { randomUUID } from 'node:crypto';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { afterAll, beforeAll, vi } from 'vitest';
import type {
  DeliverNoticeInput,
  HandlerRef,
  PlanningQuery,
  RecordEventInput,
} from '../../src/activities/contracts.js';
import type { MatterActivities } from '../../src/activities/index.js';
import { type BusinessCalendar, ROUND_THE_CLOCK } from '../../src/domain/calendar.js';
import type { MatterInput, MatterState } from '../../src/domain/matter.js';
import type { PlanningContext } from '../../src/domain/planner.js';
import type { ReminderRule } from '../../src/domain/reminder-rule.js';
import type { matterWorkflow } from '../../src/workflows/matter.js';
import { completeUpdate, stateQuery } from '../../src/workflows/messages.js';
import { startMatterEnvironment } from './time-skipping.js';

const DIRECTORY: Record<string, HandlerRef> = {
  alice: { id: 'alice', name: 'Alice', active: true, supervisorId: 'sam' },
  bob: { id: 'bob', name: 'Bob', active: true, supervisorId: 'sam' },
  sam: { id: 'sam', name: 'Sam', active: true, supervisorId: null },
};

export interface MatterRun {
  handle: WorkflowHandle<typeof matterWorkflow>;
  createdAtMs: number;
  /** Lets `ms` of the test server's time pass. */
  sleep(ms: number): Promise<void>;
  /** Every event the run recorded, in order. */
  events: RecordEventInput[];
  notices: DeliverNoticeInput[];
  planningQueries: PlanningQuery[];
  /** Holds every recordEvent from now until the returned function is called. */
  holdRecords(): () => void;
  /** The run's end state, awaited through a plain client: the time-skipping one would let the clock jump. */
  result(): Promise<MatterState>;
}

export interface MatterOptions {
  rule: ReminderRule;
  /** Business calendars by code; any other code plans round the clock. */
  calendars?: Record<string, BusinessCalendar>;
  /** The planning context the API passes with the start, as it does for a matter starting now. */
  opening?: PlanningContext;
}

/**
 * The test file's time-skipping server, started before its tests and torn down after them, and a way to run
 * one matter on it.
 */
export function useMatterServer(): {
  withMatter<T>(opts: MatterOptions, body: (run: MatterRun) => Promise<T>): Promise<T>;
} {
  let env: TestWorkflowEnvironment | undefined;
  let workflowBundle: WorkflowBundleOption;
  beforeAll(async () => {
    ({ env, workflowBundle } = await startMatterEnvironment());
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });
  return { withMatter: (opts, body) => withMatter(env!, workflowBundle, opts, body) };
}

/** Starts one matter for alice and runs `body` while a worker serves it; the matter is then closed. */
async function withMatter<T>(
  env: TestWorkflowEnvironment,
  workflowBundle: WorkflowBundleOption,
  opts: MatterOptions,
  body: (run: MatterRun) => Promise<T>,
): Promise<T> {
  const events: RecordEventInput[] = [];
  const notices: DeliverNoticeInput[] = [];
  const planningQueries: PlanningQuery[] = [];
  let held: Promise<void> = Promise.resolve();
  const activities: Pick<
    MatterActivities,
    'recordEvent' | 'findHandler' | 'deliverNotice' | 'loadPlanningContext' | 'convergeMessages'
  > = {
    async recordEvent(input) {
      await held;
      events.push(input);
    },
    async loadPlanningContext(query) {
      planningQueries.push(query);
      return {
        calendar: (query.calendar && opts.calendars?.[query.calendar]) || ROUND_THE_CLOCK,
        quiet: null,
      };
    },
    findHandler: async (id) => DIRECTORY[id] ?? null,
    async deliverNotice(input) {
      notices.push(input);
      return 'delivered';
    },
    convergeMessages: async () => 'converged',
  };
  const id = randomUUID();
  const taskQueue = `matter-run-${id}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
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
      dueAt: null,
      priority: 'normal',
      reminderRule: opts.rule,
      handlerId: 'alice',
      createdBy: 'loans',
      createdAt: new Date(createdAtMs).toISOString(),
    };
    const handle = await env.client.workflow.start<typeof matterWorkflow>('matterWorkflow', {
      args: opts.opening ? [input, undefined, opts.opening] : [input],
      taskQueue,
      workflowId: `matter:test:${id}`,
    });
    const holdRecords = () => {
      let release!: () => void;
      held = new Promise((resolve) => (release = resolve));
      return () => release();
    };
    try {
      const sleep = (ms: number) => env.sleep(ms);
      const result = () =>
        new Client({ connection: env.connection }).workflow
          .getHandle<typeof matterWorkflow>(handle.workflowId)
          .result();
      return await body({
        handle,
        createdAtMs,
        sleep,
        events,
        notices,
        planningQueries,
        holdRecords,
        result,
      });
    } finally {
      await closeMatter(handle);
    }
  });
}

/**
 * Completes a matter left open and waits in real time for its run to end: a run left behind would lock the
 * shared test server's clock for later tests, and terminating one with work in flight leaks such a lock
 * (temporalio/sdk-java#1138). Polls `describe`, as the time-skipping client's `result()` would let the clock
 * jump years ahead meanwhile.
 */
async function closeMatter(handle: MatterRun['handle']): Promise<void> {
  const state = await handle.query(stateQuery).catch(() => null);
  if (state?.status === 'open') {
    const actorId = state.handlerId ?? '';
    await handle
      .executeUpdate(completeUpdate, { args: [{ actorId, outcome: 'test over' }] })
      .catch(() => null);
  }
  await vi.waitFor(
    async () => {
      if ((await handle.describe()).status.name === 'RUNNING')
        throw new Error(`${handle.workflowId} still runs`);
    },
    { timeout: 10_000, interval: 20 },
  );
}
