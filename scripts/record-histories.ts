/**
 * Records the `matterWorkflow` histories that test/workflow/replay.test.ts replays on every test run, so that a
 * change to the workflow code that breaks determinism fails CI (such a change needs `patched()`).
 *
 *   npx tsx scripts/record-histories.ts [outDir] [--overwrite]     (npm run record:histories)
 *
 * - outDir defaults to test/workflow/histories of the checkout this script is in; the workflow code recorded
 *   is that checkout's src/workflows, so record from a clean snapshot of the commit you mean.
 * - A scenario whose file exists is skipped: recorded histories stand for runs of older code and are never
 *   regenerated to make a failing replay pass. `--overwrite` re-records them all (only for a new snapshot).
 * - Each file holds `{ workflowId, history }`, which is what `Worker.runReplayHistories` takes; the format is
 *   test/support/history-files.ts's (not the SDK's `historyToJSON`, which fails in this install).
 * - Most scenarios run on the time-skipping test server (from .tools, via src/runtime/tools.ts; the SDK's own
 *   download is not used). The test server suggests continue-as-new only past about 4,000 events, so that
 *   scenario runs on a Temporal dev server with a low `limit.historyCount.suggestContinueAsNew`, in real time
 *   (a few seconds), keeping its histories small.
 * - Activities are fakes: recordEvent does nothing, findHandler answers from a small directory, deliverNotice
 *   returns 'delivered'.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client,
  Connection,
  type WorkflowHandle,
  type WorkflowUpdateHandle,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { HandlerRef } from '../src/activities/contracts.js';
import type { MatterActivities } from '../src/activities/index.js';
import { type BusinessCalendar, type QuietHours, ROUND_THE_CLOCK } from '../src/domain/calendar.js';
import type { MatterInput } from '../src/domain/matter.js';
import type { ReminderRule } from '../src/domain/reminder-rule.js';
import { parseSchedule } from '../src/domain/schedule.js';
import { freePort } from '../src/runtime/free-port.js';
import { startDevServer } from '../src/runtime/temporal-dev-server.js';
import { temporalCliPath, testServerPath } from '../src/runtime/tools.js';
import type { matterWorkflow } from '../src/workflows/matter.js';
import {
  acknowledgeUpdate,
  cancelUpdate,
  claimUpdate,
  completeUpdate,
  fileExceptionUpdate,
  filingUpdate,
  modifyUpdate,
  rejectTransferUpdate,
  releaseUpdate,
  scheduleChangeUpdate,
  stateQuery,
  transferUpdate,
} from '../src/workflows/messages.js';
import { SEARCH_ATTRIBUTES } from '../src/workflows/search-attributes.js';
import { SHANGHAI_OFFICE } from '../test/support/calendars.js';
import { eventCount, historyFileText, parseHistoryFile } from '../test/support/history-files.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WORKFLOWS_PATH = join(ROOT, 'src', 'workflows', 'index.ts');
const TASK_QUEUE = 'record-histories';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

const DIRECTORY: Record<string, HandlerRef> = {
  alice: { id: 'alice', name: 'Alice', active: true, supervisorId: 'sam' },
  bob: { id: 'bob', name: 'Bob', active: true, supervisorId: 'sam' },
  dora: { id: 'dora', name: 'Dora (left)', active: false, supervisorId: 'sam' },
  sam: { id: 'sam', name: 'Sam', active: true, supervisorId: null },
  mei: { id: 'mei', name: 'Mei', active: true, supervisorId: 'sam' },
  lin: { id: 'lin', name: 'Lin', active: true, supervisorId: 'sam' },
};

/**
 * What loadPlanningContext answers from, as the real one reads the calendar catalog and the handler's profile.
 * Only the newer scenarios name a calendar or a handler with quiet hours: the older ones were recorded round
 * the clock and must stay so.
 */
const CALENDARS: Record<string, BusinessCalendar> = { 'cn-sh': SHANGHAI_OFFICE };
const QUIET_HOURS: Record<string, QuietHours> = {
  mei: { start: '21:00', end: '08:00', timeZone: 'Asia/Shanghai' },
  lin: { start: '17:30', end: '09:30', timeZone: 'Asia/Shanghai' },
};

/** Holds loadPlanningContext, so an action can land before the run has recorded its assignment. */
let planningHeld: Promise<void> = Promise.resolve();

const activities: Pick<
  MatterActivities,
  'recordEvent' | 'findHandler' | 'deliverNotice' | 'loadPlanningContext' | 'convergeMessages'
> = {
  async recordEvent() {},
  async loadPlanningContext({ handlerId, calendar }) {
    await planningHeld;
    return {
      calendar: (calendar && CALENDARS[calendar]) || ROUND_THE_CLOCK,
      quiet: (handlerId && QUIET_HOURS[handlerId]) || null,
    };
  },
  async findHandler(id) {
    return DIRECTORY[id] ?? null;
  },
  async deliverNotice() {
    return 'delivered';
  },
  async convergeMessages() {
    return 'converged';
  },
};

type Handle = WorkflowHandle<typeof matterWorkflow>;

/** The start's arguments; with `opening`, the context loadPlanningContext would answer for the input. */
function argsOf(scenario: Scenario, input: MatterInput): Parameters<typeof matterWorkflow> {
  if (!scenario.opening) return [input];
  const calendar = parseSchedule(input.reminderRule).calendar;
  const opening = {
    calendar: (calendar && CALENDARS[calendar]) || ROUND_THE_CLOCK,
    quiet: (input.handlerId && QUIET_HOURS[input.handlerId]) || null,
  };
  return [input, undefined, opening];
}

interface Drive {
  handle: Handle;
  /** Lets `ms` of workflow time pass. */
  sleep(ms: number): Promise<void>;
  /** The RFC 3339 time `ms` after the matter's creation. */
  after(ms: number): string;
}

interface MatterSpec {
  name: string;
  rule: ReminderRule;
  input?: Partial<MatterInput>;
  /** Due time as an offset from createdAt. */
  dueInMs?: number;
}

interface Scenario extends MatterSpec {
  /**
   * An action sent with the start, accepted while the run still loads its planning context (held meanwhile),
   * so it waits for the assignment to be on record.
   */
  withStart?(handle: Handle): Promise<WorkflowUpdateHandle<unknown>>;
  /** Started as the API starts a matter now: with its planning context, which the run then does not load. */
  opening?: true;
  /** Drives the run to its end (the recorder then waits for the run to close). */
  drive(run: Drive): Promise<void>;
}

/** A run's history file text (see test/support/history-files.ts). */
type Recorded = string;

const complete = (handle: Handle, actorId: string, outcome = 'done') =>
  handle.executeUpdate(completeUpdate, { args: [{ actorId, outcome }] });

const transfer = (handle: Handle, actorId: string, toHandlerId: string, onBehalfOf?: string) =>
  handle.executeUpdate(transferUpdate, {
    args: [{ actorId, toHandlerId, reason: `over to ${toHandlerId}`, ...(onBehalfOf ? { onBehalfOf } : {}) }],
  });

/** Run on the time-skipping test server; each starts a matter created at the server's "now". */
const TIME_SKIPPING_SCENARIOS: Scenario[] = [
  {
    name: 'reminders-by-rule',
    rule: { firstAfter: 'PT2H', every: 'P1D', maxCount: 3 },
    async drive({ handle, sleep }) {
      await sleep(3 * DAY);
      await complete(handle, 'alice');
    },
  },
  {
    name: 'transfer-then-reminders',
    rule: { every: 'P1D', maxCount: 2 },
    async drive({ handle, sleep }) {
      await sleep(1.5 * DAY);
      await transfer(handle, 'alice', 'bob');
      await sleep(2.5 * DAY);
      await complete(handle, 'bob');
    },
  },
  {
    name: 'escalation-then-exception',
    rule: { every: 'P1D', maxCount: 2, escalateAfter: 'PT12H' },
    dueInMs: 1 * DAY,
    async drive({ handle, sleep }) {
      await sleep(2.2 * DAY);
      await handle.executeUpdate(fileExceptionUpdate, {
        args: [
          {
            actorId: 'alice',
            eventType: 'missing-document',
            eventTypeVersion: 1,
            severity: 'high',
            description: 'The signed contract is not attached',
            fields: { documentId: 'D-17' },
            subscribers: { handlerIds: ['sam'], groupIds: ['ops'] },
          },
        ],
      });
      await handle.executeUpdate(completeUpdate, {
        args: [{ actorId: 'alice', outcome: 'done', comment: 'contract found' }],
      });
    },
  },
  {
    name: 'modify-then-cancel',
    rule: { every: 'P1D', maxCount: 5, escalateAfter: 'P1D' },
    dueInMs: 1 * DAY,
    async drive({ handle, sleep, after }) {
      await sleep(0.5 * DAY);
      const review = { changeRequestId: 'cr-1', approvedBy: 'mgr-2' };
      await handle.executeUpdate(modifyUpdate, {
        args: [
          {
            actorId: 'mgr-1',
            reason: 'customer asked for more time',
            review,
            dueAt: after(3 * DAY),
            reminderRule: { every: 'PT12H', maxCount: 3, escalateAfter: 'PT12H' },
          },
        ],
      });
      await sleep(1.2 * DAY);
      await handle.executeUpdate(cancelUpdate, {
        args: [
          { actorId: 'mgr-1', reason: 'duplicate', review: { changeRequestId: 'cr-2', approvedBy: 'mgr-2' } },
        ],
      });
    },
  },
  {
    // A modify applied at its time, one that by then changes nothing (change.failed), a delete that ends it.
    name: 'scheduled-change',
    rule: { every: 'P1D', maxCount: 5 },
    async drive({ handle, sleep, after }) {
      const revise = { actorId: 'mgr-1', reason: 'from Monday', title: 'Approve loan 42 (revised)' };
      await handle.executeUpdate(scheduleChangeUpdate, {
        args: [{ changeRequestId: 'cr-1', effectiveAt: after(1.5 * DAY), kind: 'modify', action: revise }],
      });
      await handle.executeUpdate(scheduleChangeUpdate, {
        args: [{ changeRequestId: 'cr-3', effectiveAt: after(2 * DAY), kind: 'modify', action: revise }],
      });
      await handle.executeUpdate(scheduleChangeUpdate, {
        args: [
          {
            changeRequestId: 'cr-2',
            effectiveAt: after(2.5 * DAY),
            kind: 'delete',
            action: { actorId: 'mgr-1', reason: 'closing' },
          },
        ],
      });
      await sleep(3 * DAY);
    },
  },
  {
    // Offered to a group: escalates while unclaimed, claimed, released, claimed by another, completed.
    name: 'group-claim-release',
    rule: { every: 'P1D', maxCount: 2, escalateAfter: 'P1D' },
    input: { handlerId: null, groupId: 'ops' },
    async drive({ handle, sleep }) {
      await sleep(1.2 * DAY);
      await handle.executeUpdate(claimUpdate, { args: [{ actorId: 'alice' }] });
      await sleep(0.3 * DAY);
      await handle.executeUpdate(releaseUpdate, { args: [{ actorId: 'alice', reason: 'no time' }] });
      await handle.executeUpdate(claimUpdate, { args: [{ actorId: 'bob' }] });
      await sleep(1.2 * DAY);
      await complete(handle, 'bob');
    },
  },
  {
    // One long run taking many Updates, among them one that fails after its lookup (inactive handler).
    name: 'many-updates',
    rule: { every: 'PT12H', maxCount: 4, escalateAfter: 'P2D' },
    async drive({ handle, sleep, after }) {
      await handle.executeUpdate(fileExceptionUpdate, {
        args: [{ actorId: 'alice', eventType: 'question', description: 'Which branch?' }],
      });
      await transfer(handle, 'alice', 'bob');
      await transfer(handle, 'bob', 'dora').catch(() => undefined);
      await sleep(0.3 * DAY);
      await handle.executeUpdate(modifyUpdate, {
        args: [{ actorId: 'mgr-1', reason: 'clearer', title: 'Approve loan 42 now', priority: 'high' }],
      });
      await handle.executeUpdate(modifyUpdate, {
        args: [{ actorId: 'mgr-1', reason: 'back to alice', handlerId: 'alice' }],
      });
      await handle.executeUpdate(scheduleChangeUpdate, {
        args: [
          {
            changeRequestId: 'cr-9',
            effectiveAt: after(1 * DAY),
            kind: 'modify',
            action: { actorId: 'mgr-1', reason: 'more detail', details: 'See branch 7' },
          },
        ],
      });
      await transfer(handle, 'sam', 'bob', 'alice');
      for (let i = 0; i < 3; i++) {
        await transfer(handle, 'bob', 'alice');
        await transfer(handle, 'alice', 'bob');
      }
      await handle.executeUpdate(fileExceptionUpdate, {
        args: [
          { actorId: 'bob', eventType: 'question', description: 'Still which branch?', fields: { n: 2 } },
        ],
      });
      await sleep(1.2 * DAY);
      await complete(handle, 'bob');
    },
  },
  {
    // Transferred, handed back, transferred again past the alert threshold, then completed.
    name: 'transfer-rejected-then-alert',
    rule: { every: 'P1D', maxCount: 3 },
    async drive({ handle, sleep }) {
      await sleep(0.5 * DAY);
      await handle.executeUpdate(transferUpdate, {
        args: [{ actorId: 'alice', toHandlerId: 'bob', reason: 'your branch', alertAfter: 2 }],
      });
      await handle.executeUpdate(rejectTransferUpdate, {
        args: [{ actorId: 'bob', reason: 'not my product line', alertAfter: 2 }],
      });
      await sleep(1.2 * DAY);
      await handle.executeUpdate(transferUpdate, {
        args: [{ actorId: 'alice', toHandlerId: 'bob', reason: 'asked the manager', alertAfter: 2 }],
      });
      await sleep(0.5 * DAY);
      await complete(handle, 'bob');
    },
  },
  {
    // A filing whose type pauses reminders, acknowledged and closed days later; then one that returns it.
    name: 'filing-pauses-then-returns',
    rule: { every: 'P1D', maxCount: 5, escalateAfter: 'P2D' },
    async drive({ handle, sleep }) {
      await sleep(0.5 * DAY);
      const filed = await handle.executeUpdate(fileExceptionUpdate, {
        args: [
          {
            actorId: 'alice',
            eventType: 'WAITING_ON_BRANCH',
            description: 'Branch has the file',
            filingId: 'f-1',
            onFiling: 'pause_reminders',
            attachments: [{ name: 'Request', url: 'https://dms.example.test/r/1' }],
            subscribers: { handlerIds: ['sam'], groupIds: [], webhooks: ['https://hooks.example.test/risk'] },
          },
        ],
      });
      await sleep(1 * DAY);
      await handle.executeUpdate(filingUpdate, {
        args: [{ actorId: 'sam', filingId: 'f-1', filingSeq: filed.seq, step: 'acknowledged', note: 'seen' }],
      });
      await sleep(1 * DAY);
      await handle.executeUpdate(filingUpdate, {
        args: [
          { actorId: 'sam', filingId: 'f-1', filingSeq: filed.seq, step: 'closed', note: 'file arrived' },
        ],
      });
      await sleep(1.5 * DAY);
      await handle.executeUpdate(fileExceptionUpdate, {
        args: [
          {
            actorId: 'alice',
            eventType: 'NOT_OURS',
            description: 'Belongs to another bank',
            filingId: 'f-2',
            onFiling: 'return_to_source',
          },
        ],
      });
    },
  },
  {
    // Local times of day on a Shanghai handler's quiet hours, two before-due reminders, a three-rung ladder that
    // climbs past the due time until the handler acknowledges: the rung under way finishes, the last never starts.
    name: 'ladder-climbs-then-acknowledged',
    rule: {
      calendar: 'cn-sh',
      timesOfDay: ['09:30', '16:00'],
      maxCount: 6,
      beforeDue: ['P1D', 'PT2H'],
      ladder: [
        { after: 'PT1H', to: 'handler', every: 'PT4H', maxCount: 2 },
        { after: 'PT12H', to: 'supervisor', every: 'PT12H', maxCount: 2 },
        { after: 'P2D', to: { group: 'risk' }, channels: ['webhook'] },
      ],
    },
    input: { handlerId: 'mei', priority: 'high' },
    dueInMs: 2 * DAY,
    async drive({ handle, sleep }) {
      await sleep(2 * DAY + 14 * HOUR);
      await handle.executeUpdate(acknowledgeUpdate, {
        args: [{ actorId: 'mei', note: 'calling the client' }],
      });
      await sleep(3 * DAY);
      await complete(handle, 'mei');
    },
  },
  {
    // Sent to the wrong branch: moved on before the assignment is on record; reminders in working hours of the
    // Shanghai calendar out of the new handler's quiet hours; then a reviewed change puts it on a weekday cron
    // with a due time and a ladder, which climbs.
    name: 'misrouted-then-rule-changed',
    rule: { clock: 'working', calendar: 'cn-sh', every: 'PT4H', maxCount: 4 },
    withStart: (handle) =>
      handle.startUpdate(transferUpdate, {
        args: [{ actorId: 'alice', toHandlerId: 'lin', reason: 'her branch holds the account' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      }),
    async drive({ handle, sleep, after }) {
      await sleep(2.5 * DAY);
      await handle.executeUpdate(modifyUpdate, {
        args: [
          {
            actorId: 'mgr-1',
            reason: 'moved to the daily desk review',
            review: { changeRequestId: 'cr-7', approvedBy: 'mgr-2' },
            dueAt: after(5 * DAY),
            reminderRule: {
              clock: 'working',
              calendar: 'cn-sh',
              cron: '0 10 * * 1-5',
              maxCount: 6,
              beforeDue: ['PT4H'],
              ladder: [
                { after: 'PT2H', to: 'supervisor' },
                { after: 'P1D', to: { handler: 'sam' }, every: 'P1D', maxCount: 2 },
              ],
            },
          },
        ],
      });
      await sleep(8 * DAY);
      await complete(handle, 'lin');
    },
  },
  {
    // Hourly for ten hours, then a reviewed change to daily: the daily rule goes on from its own first slot.
    name: 'rule-changed-replans-from-now',
    rule: { every: 'PT1H' },
    async drive({ handle, sleep }) {
      await sleep(10.5 * HOUR);
      await handle.executeUpdate(modifyUpdate, {
        args: [
          {
            actorId: 'mgr-1',
            reason: 'daily is enough',
            review: { changeRequestId: 'cr-9', approvedBy: 'mgr-2' },
            reminderRule: { every: 'P1D', maxCount: 3 },
          },
        ],
      });
      await sleep(4 * DAY);
      await complete(handle, 'alice');
    },
  },
  {
    // Started with the calendar and mei's quiet hours; a transfer to lin then loads lin's as before.
    name: 'opened-with-planning-context',
    rule: { clock: 'working', calendar: 'cn-sh', every: 'PT4H', maxCount: 3 },
    input: { handlerId: 'mei' },
    opening: true,
    async drive({ handle, sleep }) {
      await sleep(2 * DAY);
      await transfer(handle, 'mei', 'lin');
      await sleep(3 * DAY);
      await complete(handle, 'lin');
    },
  },
];

/** Reminders every second, on a dev server that suggests a new run after 40 events: one hand-over. */
const CONTINUE_AS_NEW: MatterSpec = {
  name: 'continue-as-new',
  rule: { firstAfter: 'PT1S', every: 'PT1S', maxCount: 4 },
};

function matterInput(scenario: MatterSpec, createdAtMs: number): MatterInput {
  return {
    id: `replay-${scenario.name}`,
    source: 'loans',
    externalId: `replay-${scenario.name}`,
    title: 'Approve loan 42',
    details: null,
    link: null,
    dueAt: scenario.dueInMs === undefined ? null : new Date(createdAtMs + scenario.dueInMs).toISOString(),
    priority: 'normal',
    reminderRule: scenario.rule,
    handlerId: 'alice',
    createdBy: 'loans',
    createdAt: new Date(createdAtMs).toISOString(),
    ...scenario.input,
  };
}

/** Polls in real time: awaiting `result()` on the time-skipping server would unlock its clock. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const closed = async (handle: Handle) => (await handle.describe()).status.name !== 'RUNNING';

async function historyOf(handle: Handle): Promise<Recorded> {
  const { status } = await handle.describe();
  if (status.name !== 'COMPLETED' && status.name !== 'CONTINUED_AS_NEW') {
    throw new Error(`${handle.workflowId} ended ${status.name}`);
  }
  return historyFileText(handle.workflowId, await handle.fetchHistory());
}

async function recordTimeSkipping(
  scenarios: Scenario[],
  bundle: WorkflowBundle,
): Promise<Map<string, Recorded>> {
  const recorded = new Map<string, Recorded>();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
  try {
    // The test server refuses to upsert search attributes it does not know.
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        SEARCH_ATTRIBUTES.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!]),
      ),
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: bundle,
      activities,
    });
    await worker.runUntil(async () => {
      for (const scenario of scenarios) {
        const createdAtMs = await env.currentTimeMs();
        let release = () => {};
        if (scenario.withStart) planningHeld = new Promise((resolve) => (release = resolve));
        const handle = await env.client.workflow.start<typeof matterWorkflow>('matterWorkflow', {
          args: argsOf(scenario, matterInput(scenario, createdAtMs)),
          taskQueue: TASK_QUEUE,
          workflowId: `matter:replay:${scenario.name}`,
        });
        let early: WorkflowUpdateHandle<unknown> | undefined;
        try {
          early = await scenario.withStart?.(handle);
        } finally {
          release();
          planningHeld = Promise.resolve();
        }
        await early?.result();
        await scenario.drive({
          handle,
          sleep: (ms) => env.sleep(ms),
          after: (ms) => new Date(createdAtMs + ms).toISOString(),
        });
        await until(`${scenario.name} to end`, () => closed(handle));
        recorded.set(scenario.name, await historyOf(handle));
        console.log(`recorded ${scenario.name}`);
      }
    });
  } finally {
    await env.teardown();
  }
  return recorded;
}

/** Every run of the continue-as-new scenario, as `continue-as-new.run-<n>`. */
async function recordContinueAsNew(bundle: WorkflowBundle): Promise<Map<string, Recorded>> {
  const recorded = new Map<string, Recorded>();
  const server = await startDevServer({
    cli: temporalCliPath(),
    port: await freePort(),
    uiPort: null,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
  });
  try {
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: bundle,
      activities,
    });
    const { maxCount } = CONTINUE_AS_NEW.rule;
    await worker.runUntil(async () => {
      const first = await client.workflow.start<typeof matterWorkflow>('matterWorkflow', {
        args: [matterInput(CONTINUE_AS_NEW, Date.now())],
        taskQueue: TASK_QUEUE,
        workflowId: `matter:replay:${CONTINUE_AS_NEW.name}`,
      });
      const latest = client.workflow.getHandle<typeof matterWorkflow>(first.workflowId);
      await until('a second run', async () => (await latest.describe()).runId !== first.firstExecutionRunId);
      await until('every reminder', async () => (await latest.query(stateQuery)).remindersSent === maxCount);
      // The run may be handing over to a fresh one just then: the Update then goes to the new run.
      await until('the completion', () =>
        complete(latest, 'alice').then(
          () => true,
          () => false,
        ),
      );
      await until('the last run to end', () => closed(latest));
      let runId: string | undefined = first.firstExecutionRunId;
      for (let n = 1; runId !== undefined; n++) {
        const run = client.workflow.getHandle<typeof matterWorkflow>(first.workflowId, runId);
        recorded.set(`${CONTINUE_AS_NEW.name}.run-${n}`, await historyOf(run));
        runId = await nextRunOf(run);
      }
    });
    await nativeConnection.close();
    await connection.close();
  } finally {
    await server.stop();
  }
  for (const name of recorded.keys()) console.log(`recorded ${name}`);
  return recorded;
}

/** The run a continued-as-new run handed over to, from its closing event. */
async function nextRunOf(run: Handle): Promise<string | undefined> {
  const events = (await run.fetchHistory()).events ?? [];
  return events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
}

/** Each file must replay on the code it was recorded from, or it is no use as a baseline. */
async function selfCheck(bundle: WorkflowBundle, recorded: Map<string, Recorded>): Promise<void> {
  const names = [...recorded.keys()];
  const results = Worker.runReplayHistories(
    { workflowBundle: bundle },
    names.map((name) => parseHistoryFile(recorded.get(name)!)),
  );
  let i = 0;
  for await (const result of results) {
    if (result.error) throw new Error(`${names[i]} does not replay on its own code: ${result.error.message}`);
    i++;
  }
  if (i !== names.length) throw new Error(`replayed ${i} of ${names.length} histories`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const overwrite = args.includes('--overwrite');
  const outDir = resolve(
    args.find((a) => !a.startsWith('--')) ?? join(ROOT, 'test', 'workflow', 'histories'),
  );
  mkdirSync(outDir, { recursive: true });
  const missing = (name: string) => overwrite || !existsSync(join(outDir, `${name}.json`));

  const timeSkipping = TIME_SKIPPING_SCENARIOS.filter((s) => missing(s.name));
  const continueAsNew = missing(`${CONTINUE_AS_NEW.name}.run-1`);
  for (const s of TIME_SKIPPING_SCENARIOS.filter((s) => !timeSkipping.includes(s))) {
    console.log(`kept ${s.name}.json (exists; --overwrite to re-record)`);
  }
  if (!continueAsNew)
    console.log(`kept ${CONTINUE_AS_NEW.name}.run-*.json (exists; --overwrite to re-record)`);
  if (timeSkipping.length === 0 && !continueAsNew) return;

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
  });
  const recorded = new Map<string, Recorded>();
  if (timeSkipping.length > 0)
    for (const [k, v] of await recordTimeSkipping(timeSkipping, bundle)) recorded.set(k, v);
  if (continueAsNew) for (const [k, v] of await recordContinueAsNew(bundle)) recorded.set(k, v);
  await selfCheck(bundle, recorded);

  const files: string[] = [];
  for (const [name, text] of recorded) {
    const file = join(outDir, `${name}.json`);
    writeFileSync(file, text);
    files.push(file);
    const events = eventCount(parseHistoryFile(text));
    console.log(`wrote ${file}: ${events} events, ${(text.length / 1024).toFixed(0)} KiB`);
    if (text.length > 512 * 1024) console.warn(`  ${name} is large: keep recorded histories small`);
  }
  // In the repository's JSON style (`npm run lint` checks them); biome finds the config above outDir.
  execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', ...files], {
    cwd: outDir,
    stdio: 'inherit',
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
