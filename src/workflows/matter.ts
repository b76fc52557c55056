import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ACTIVITY_HEARTBEAT_TIMEOUT_MS,
  type DeliverNoticeInput,
  HANDLER_ACTIONS,
  type LinkAction,
  type NoticeRecipient,
} from '../activities/contracts.js';
import type { ConvergeInput } from '../activities/converge.js';
import type { MatterActivities } from '../activities/index.js';
import {
  type AcknowledgeAction,
  type CancelAction,
  type ClaimAction,
  type CompleteAction,
  checkAcknowledge,
  checkCancel,
  checkClaim,
  checkComplete,
  checkFileException,
  checkFilingAction,
  checkModify,
  checkRejectTransfer,
  checkRelease,
  checkSchedule,
  checkTransfer,
  type FileExceptionAction,
  type FilingAction,
  type ModifyAction,
  type RejectTransferAction,
  type ReleaseAction,
  type ScheduledChange,
  type TransferAction,
  transferAlertDue,
} from '../domain/actions.js';
import { ROUND_THE_CLOCK } from '../domain/calendar.js';
import { ActionRefusal, Refusal } from '../domain/errors.js';
import type { MatterEventType, MatterInput, MatterState } from '../domain/matter.js';
import {
  afterNotice,
  NOTHING_SENT,
  type Planned,
  type PlanningContext,
  type Progress,
  planNotice,
  rebaseProgress,
  replanProgress,
  resumeProgress,
} from '../domain/planner.js';
import { type LadderTarget, parseSchedule, type Schedule } from '../domain/schedule.js';
import { DELIVERY_ACTIVITY_OPTIONS } from './delivery-options.js';
import {
  type ActionResult,
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
} from './messages.js';
import {
  MatterDueAt,
  MatterEscalationLevel,
  MatterGroup,
  MatterHandler,
  MatterPriority,
  MatterSource,
  MatterStatus,
} from './search-attributes.js';
import { untilSent } from './until-sent.js';

const { recordEvent, findHandler, loadPlanningContext } = proxyActivities<MatterActivities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT_MS,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const { deliverNotice, convergeMessages } = proxyActivities<MatterActivities>(DELIVERY_ACTIVITY_OPTIONS);
/** After these, the buttons on cards already sent are stale. */
const CLOSES_CARDS: ReadonlySet<MatterEventType> = new Set([
  'matter.completed',
  'matter.transferred',
  'transfer.rejected',
  'matter.cancelled',
  'matter.returned',
]);

type Notice = Omit<DeliverNoticeInput, 'workflowId'>;

/** Events after which a run hands over on its own, well below the engine's hard limit, on any server. */
const HISTORY_LIMIT = 8_000;

// Date is deterministic inside a workflow: the SDK replaces it with the workflow task's time.
const nowMs = (): number => Date.now();
const nowIso = (): string => new Date(nowMs()).toISOString();

function refuse(err: unknown): never {
  if (err instanceof Refusal)
    throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
  throw err;
}

/**
 * `carried` is the state handed over by continue-as-new; a new matter starts without it. `opening` is the
 * planning context the API read as it started the run, which spares the run its first lookup.
 */
export async function matterWorkflow(
  input: MatterInput,
  carried?: MatterState,
  opening?: PlanningContext,
): Promise<MatterState> {
  const { workflowId } = workflowInfo();
  const state: MatterState = carried
    ? { groupId: null, ...carried }
    : {
        ...input,
        groupId: input.groupId ?? null,
        status: 'open',
        assignedAt: input.createdAt,
        remindersSent: 0,
        escalated: false,
        seq: 0,
        transferCount: 0,
        exceptionCount: 0,
        nextNoticeAt: null,
        completedAt: null,
        completedBy: null,
        outcome: null,
        scheduledChanges: [],
      };
  // Notices go out concurrently: a receiver that is down must not hold back another handler's notice.
  const inFlight = new Set<Promise<void>>();
  // Bumped whenever a message changes what the planner must consider.
  let planVersion = 0;
  // Runs begun before the reminder engine replay as they ran: fixed intervals, round the clock.
  const engine = patched('reminder-engine');
  let planning: PlanningContext = { calendar: ROUND_THE_CLOCK, quiet: null };

  const snapshot = (): MatterState => ({ ...state });

  /** Runs from before the engine kept only a count and a flag; the rest follows from the rule. */
  function progressOf(): Progress {
    const p = state.progress;
    return {
      remindersSent: state.remindersSent,
      lastReminderSlot: p?.lastReminderSlot ?? null,
      beforeDueSent: p?.beforeDueSent ?? 0,
      lastBeforeDueSlot: p?.lastBeforeDueSlot ?? null,
      ladderSent: p?.ladderSent ?? [state.escalated ? 1 : 0],
      lastLadderSlot: p?.lastLadderSlot ?? [],
      acknowledgedAt: state.acknowledgedAt ? Date.parse(state.acknowledgedAt) : null,
    };
  }

  function keep(progress: Progress): void {
    const { remindersSent, acknowledgedAt: _, ...rest } = progress;
    state.remindersSent = remindersSent;
    state.escalated = rest.ladderSent.some((n) => n > 0);
    state.progress = rest;
  }

  // Parsed once per rule: planning runs on every event and every notice.
  let parsed: { rule: MatterState['reminderRule']; schedule: Schedule } | null = null;
  function schedule(): Schedule {
    if (parsed?.rule !== state.reminderRule) {
      parsed = { rule: state.reminderRule, schedule: parseSchedule(state.reminderRule) };
    }
    return parsed.schedule;
  }

  function engineInput() {
    return {
      ...progressOf(),
      schedule: schedule(),
      context: planning,
      assignedAt: Date.parse(state.assignedAt) + pausedMs(),
      dueAt: state.dueAt ? Date.parse(state.dueAt) : null,
      now: nowMs(),
    };
  }

  const planFromState = (): Planned | null => (paused() ? null : planNotice(engineInput()));

  /** Reminders and the ladder wait while a filing whose type pauses them is open. */
  const paused = (): boolean => (state.filings ?? []).some((f) => f.pausesReminders && f.status !== 'closed');

  /** Time the current assignment's clock stood still; a pause of an earlier assignment does not count. */
  const pausedMs = (): number => (state.pause?.assignedAt === state.assignedAt ? state.pause.ms : 0);

  /** The last pausing filing closed: the clock goes on from where it stood, without catching up. */
  function resume(): void {
    const since = state.pause?.since;
    if (!since) return;
    const stood = nowMs() - Math.max(Date.parse(since), Date.parse(state.assignedAt));
    state.pause = { assignedAt: state.assignedAt, ms: pausedMs() + stood, since: null };
    keep(resumeProgress(engineInput(), stood));
    planVersion += 1;
  }

  /**
   * The calendar a rule counts on and a handler's quiet hours; read before an assignment or a
   * rule changes, so the change and its plan land in one step.
   */
  async function contextFor(
    handlerId: string | null,
    rule: MatterState['reminderRule'] = state.reminderRule,
  ): Promise<PlanningContext> {
    if (!engine) return planning;
    return loadPlanningContext({ handlerId, calendar: parseSchedule(rule).calendar });
  }

  /** Every recorded event carries the plan that follows it, so the projection never shows a stale time. */
  let lastRecord: Promise<unknown> = Promise.resolve();

  async function record(type: MatterEventType, actorId: string | null, data: Record<string, unknown>) {
    const next = state.status === 'open' ? planFromState() : null;
    state.nextNoticeAt = next ? new Date(next.at).toISOString() : null;
    state.seq += 1;
    const seq = state.seq;
    const at = nowIso();
    const after = snapshot();
    const input = { workflowId, seq, type, actorId, occurredAt: at, data, state: after };
    if (patched('ordered-event-records')) {
      // An update arriving while an earlier event is being written waits for it: the audit trail and
      // the projection then take events in their sequence.
      const mine = lastRecord.then(() => recordEvent(input));
      lastRecord = mine.catch(() => undefined);
      await mine;
    } else {
      await recordEvent(input);
    }
    if (CLOSES_CARDS.has(type) && patched('converge-cards'))
      converge({ type, actorId, occurredAt: at, state: after, data });
    return { seq, at, after };
  }

  function enqueue(
    event: { seq: number; at: string; after: MatterState },
    type: MatterEventType,
    recipient: NoticeRecipient,
    actions: LinkAction[],
    data: Record<string, unknown> = {},
    channels: string[] | null = null,
  ): void {
    send({
      seq: event.seq,
      type,
      recipient,
      actions,
      issuedAt: event.at,
      state: event.after,
      data,
      ...(channels ? { channels } : {}),
    });
  }

  /** Group members claim in the inbox; links act only for one handler. */
  const noticeActions = (): LinkAction[] => (state.handlerId !== null ? HANDLER_ACTIONS : []);

  function publishSearchAttributes(): void {
    upsertSearchAttributes([
      { key: MatterHandler, value: state.handlerId },
      { key: MatterStatus, value: state.status },
      { key: MatterSource, value: state.source },
      { key: MatterPriority, value: state.priority },
      { key: MatterGroup, value: state.groupId ?? null },
      { key: MatterDueAt, value: state.dueAt ? new Date(state.dueAt) : null },
      ...(patched('escalation-level-attribute')
        ? [{ key: MatterEscalationLevel, value: escalationLevel() }]
        : []),
    ]);
  }

  const escalationLevel = (): number =>
    (state.progress?.ladderSent ?? [state.escalated ? 1 : 0]).reduce(
      (level, n, i) => (n > 0 ? i + 1 : level),
      0,
    );

  /** The current handler, or every member of the group while nobody has claimed it. */
  function assignee(): NoticeRecipient {
    return state.handlerId !== null
      ? { kind: 'handler', handlerId: state.handlerId }
      : { kind: 'group', groupId: state.groupId ?? '' };
  }

  function escalationRecipient(): NoticeRecipient {
    return state.handlerId !== null
      ? { kind: 'supervisorOf', handlerId: state.handlerId }
      : { kind: 'supervisorOfGroup', groupId: state.groupId ?? '' };
  }

  const offeredTo = () => (state.groupId ? { groupId: state.groupId } : {});

  /** Actions by a stand-in carry whom they acted for into the record and the audit. */
  const actingFor = (action: { onBehalfOf?: string }) =>
    action.onBehalfOf ? { onBehalfOf: action.onBehalfOf } : {};

  /** A new assignment starts its own reminder clock, and the new handler must acknowledge anew. */
  function assignTo(handlerId: string | null): void {
    state.handlerId = handlerId;
    state.assignedAt = nowIso();
    keep(NOTHING_SENT);
    state.acknowledgedAt = null;
    state.lastTransfer = null;
    planVersion += 1;
    publishSearchAttributes();
  }

  /** A ladder level's target as a notice recipient. */
  function recipientOf(to: LadderTarget): NoticeRecipient {
    if (to === 'handler') return assignee();
    if (to === 'supervisor') return escalationRecipient();
    return 'group' in to ? { kind: 'group', groupId: to.group } : { kind: 'handler', handlerId: to.handler };
  }

  // A new run's first event is its assignment; carried state already has it.
  let opened = carried !== undefined;

  /**
   * An action that arrives with the start waits until the assignment is on record. True when it waited: the
   * caller checks it anew right after, before anything else can run, as another action may have landed.
   */
  async function waitedForOpening(): Promise<boolean> {
    if (opened || !patched('actions-after-assignment')) return false;
    await condition(() => opened);
    return true;
  }

  setHandler(stateQuery, () => snapshot());

  setHandler(
    completeUpdate,
    async (action: CompleteAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkComplete(state, action));
      state.status = 'completed';
      state.completedAt = nowIso();
      state.completedBy = action.actorId;
      state.outcome = action.outcome ?? null;
      planVersion += 1;
      publishSearchAttributes();
      const event = await record('matter.completed', action.actorId, {
        outcome: action.outcome ?? null,
        comment: action.comment ?? null,
        ...actingFor(action),
      });
      enqueue(event, 'matter.completed', { kind: 'handler', handlerId: action.actorId }, []);
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkComplete(state, action)) },
  );

  setHandler(
    transferUpdate,
    async (action: TransferAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkTransfer(state, action));
      const [target, context] = await Promise.all([
        findHandler(action.toHandlerId),
        contextFor(action.toHandlerId),
      ]);
      if (!target?.active) {
        throw ApplicationFailure.create({
          type: ActionRefusal.UNKNOWN_HANDLER,
          message: `no active handler "${action.toHandlerId}" to transfer to`,
          nonRetryable: true,
        });
      }
      // The lookup yielded: another action may have landed meanwhile.
      refuseOn(() => checkTransfer(state, action));
      const from = state.handlerId!;
      state.transferCount += 1;
      planning = context;
      assignTo(target.id);
      state.lastTransfer = { from, to: target.id, at: state.assignedAt };
      const event = await record('matter.transferred', action.actorId, {
        from,
        to: target.id,
        reason: action.reason,
        ...actingFor(action),
      });
      enqueue(event, 'matter.transferred', { kind: 'handler', handlerId: target.id }, HANDLER_ACTIONS, {
        from,
        reason: action.reason,
      });
      await alertOnTransfers(action);
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkTransfer(state, action)) },
  );

  setHandler(
    rejectTransferUpdate,
    async (action: RejectTransferAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkRejectTransfer(state, action));
      const back = state.lastTransfer!.from;
      const [target, context] = await Promise.all([findHandler(back), contextFor(back)]);
      if (!target?.active) {
        throw ApplicationFailure.create({
          type: ActionRefusal.UNKNOWN_HANDLER,
          message: `the handler who transferred it (${back}) is no longer active; transfer it to someone else`,
          nonRetryable: true,
        });
      }
      refuseOn(() => checkRejectTransfer(state, action));
      const from = state.handlerId!;
      state.transferCount += 1;
      planning = context;
      // Handed back, not on: the one who transferred it may only transfer it anew, not reject it.
      assignTo(back);
      const event = await record('transfer.rejected', action.actorId, {
        from,
        to: back,
        reason: action.reason,
        ...actingFor(action),
      });
      enqueue(event, 'transfer.rejected', { kind: 'handler', handlerId: back }, HANDLER_ACTIONS, {
        from,
        reason: action.reason,
      });
      await alertOnTransfers(action);
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkRejectTransfer(state, action)) },
  );

  /** A matter passed around more than the threshold is brought to the new handler's supervisor. */
  async function alertOnTransfers(action: { alertAfter?: number }): Promise<void> {
    if (!transferAlertDue(state.transferCount, action.alertAfter) || !patched('transfer-alert')) return;
    const data = { transfers: state.transferCount, alertAfter: action.alertAfter! };
    const event = await record('matter.transfer-alert', null, data);
    enqueue(event, 'matter.transfer-alert', escalationRecipient(), [], data);
  }

  setHandler(
    fileExceptionUpdate,
    async (action: FileExceptionAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkFileException(state, action));
      state.exceptionCount += 1;
      const filing = {
        eventType: action.eventType,
        ...(action.eventTypeVersion !== undefined ? { eventTypeVersion: action.eventTypeVersion } : {}),
        ...(action.severity !== undefined ? { severity: action.severity } : {}),
        description: action.description,
        fields: action.fields ?? {},
        ...(action.filingId !== undefined ? { filingId: action.filingId } : {}),
        ...(action.attachments?.length ? { attachments: action.attachments } : {}),
        ...(action.onFiling !== undefined ? { onFiling: action.onFiling } : {}),
        ...actingFor(action),
      };
      // Runs filed before dispositions existed replay as they ran: the filing leaves the matter open.
      const returned = patched('exception-disposition') && dispose(action);
      const event = await record('exception.filed', action.actorId, filing);
      enqueue(event, 'exception.filed', escalationRecipient(), [], filing);
      const subscribers = action.subscribers;
      const count = subscribers
        ? subscribers.handlerIds.length + subscribers.groupIds.length + (subscribers.webhooks?.length ?? 0)
        : 0;
      if (subscribers && count > 0) {
        enqueue(event, 'exception.filed', { kind: 'subscribers', ...subscribers }, [], filing);
      }
      if (returned) {
        const data = {
          filingId: action.filingId ?? null,
          eventType: action.eventType,
          reason: action.description,
        };
        const back = await record('matter.returned', action.actorId, { ...data, ...actingFor(action) });
        enqueue(back, 'matter.returned', assignee(), [], data);
      }
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkFileException(state, action)) },
  );

  /**
   * Tracks the filing about to be recorded (the next seq) and applies its type's disposition before anything
   * yields, so no other action lands in between. True when the matter goes back to its source.
   */
  function dispose(action: FileExceptionAction): boolean {
    const pausesReminders = action.onFiling === 'pause_reminders';
    if (pausesReminders && !paused()) {
      state.pause = { assignedAt: state.assignedAt, ms: pausedMs(), since: nowIso() };
    }
    state.filings = [...(state.filings ?? []), { seq: state.seq + 1, status: 'open', pausesReminders }];
    planVersion += 1;
    if (action.onFiling !== 'return_to_source') return false;
    state.status = 'returned';
    publishSearchAttributes();
    return true;
  }

  setHandler(
    filingUpdate,
    async (action: FilingAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkFilingAction(state, action));
      const known = state.filings?.find((f) => f.seq === action.filingSeq);
      const others = (state.filings ?? []).filter((f) => f.seq !== action.filingSeq);
      state.filings = [
        ...others,
        { seq: action.filingSeq, status: action.step, pausesReminders: known?.pausesReminders ?? false },
      ].sort((a, b) => a.seq - b.seq);
      if (action.step === 'closed' && !paused()) resume();
      const type = action.step === 'closed' ? 'exception.closed' : 'exception.acknowledged';
      const event = await record(type, action.actorId, {
        filingId: action.filingId,
        filingSeq: action.filingSeq,
        note: action.note ?? null,
      });
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkFilingAction(state, action)) },
  );

  async function applyModify(action: ModifyAction): Promise<ActionResult> {
    if (await waitedForOpening()) refuseOn(() => checkModify(state, action));
    let changes = guard(() => checkModify(state, action));
    const handlerAfter = changes.handlerId ? String(changes.handlerId.to) : state.handlerId;
    const [target, context] = await Promise.all([
      changes.handlerId ? findHandler(String(changes.handlerId.to)) : null,
      changes.handlerId || changes.reminderRule ? contextFor(handlerAfter, action.reminderRule) : planning,
    ]);
    if (changes.handlerId && !target?.active) {
      throw ApplicationFailure.create({
        type: ActionRefusal.UNKNOWN_HANDLER,
        message: `no active handler "${String(changes.handlerId.to)}" to assign`,
        nonRetryable: true,
      });
    }
    // The lookups yielded: another action may have landed meanwhile.
    if (changes.handlerId || changes.reminderRule) changes = guard(() => checkModify(state, action));
    planning = context;
    const { handlerId: reassigned, ...others } = changes;
    Object.assign(state, Object.fromEntries(Object.entries(others).map(([field, c]) => [field, c.to])));
    if (reassigned) {
      assignTo(String(reassigned.to));
    } else if (changes.reminderRule && patched('rule-change-replans-from-now')) {
      keep(replanProgress(engineInput()));
    } else if (changes.dueAt || changes.reminderRule) {
      keep(rebaseProgress(engineInput()));
    }
    planVersion += 1;
    publishSearchAttributes();
    if (changes.title) upsertMemo({ title: state.title });
    const data = { changes, reason: action.reason, review: action.review ?? null };
    const event = await record('matter.modified', action.actorId, data);
    const type = changes.handlerId ? 'matter.assigned' : 'matter.modified';
    enqueue(event, type, assignee(), noticeActions(), data);
    return { seq: event.seq, state: event.after };
  }

  async function applyCancel(action: CancelAction): Promise<ActionResult> {
    if (await waitedForOpening()) refuseOn(() => checkCancel(state, action));
    guard(() => checkCancel(state, action));
    state.status = 'cancelled';
    planVersion += 1;
    publishSearchAttributes();
    const data = { reason: action.reason, review: action.review ?? null };
    const event = await record('matter.cancelled', action.actorId, data);
    enqueue(event, 'matter.cancelled', assignee(), [], { reason: action.reason });
    return { seq: event.seq, state: event.after };
  }

  /** A change approved for later is applied at its time, or recorded as failed when the matter no longer allows it. */
  async function applyScheduled(change: ScheduledChange): Promise<void> {
    try {
      if (change.kind === 'modify') await applyModify(change.action);
      else await applyCancel(change.action);
    } catch (err) {
      if (!(err instanceof ApplicationFailure)) throw err;
      await record('change.failed', change.action.actorId, {
        changeRequestId: change.changeRequestId,
        reason: err.message,
        code: err.type,
      });
    }
  }

  setHandler(
    acknowledgeUpdate,
    async (action: AcknowledgeAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkAcknowledge(state, action));
      state.acknowledgedAt = nowIso();
      planVersion += 1;
      const event = await record('matter.acknowledged', action.actorId, {
        note: action.note ?? null,
        ...actingFor(action),
      });
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkAcknowledge(state, action)) },
  );

  setHandler(
    claimUpdate,
    async (action: ClaimAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkClaim(state, action));
      // Taken before anything yields, so a second claim's validator already sees the claimant.
      assignTo(action.actorId);
      planning = await contextFor(action.actorId);
      state.assignedAt = nowIso();
      const event = await record('matter.claimed', action.actorId, { groupId: state.groupId });
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkClaim(state, action)) },
  );

  setHandler(
    releaseUpdate,
    async (action: ReleaseAction): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkRelease(state, action));
      const context = await contextFor(null);
      refuseOn(() => checkRelease(state, action));
      const from = state.handlerId;
      planning = context;
      assignTo(null);
      const event = await record('matter.released', action.actorId, {
        from,
        groupId: state.groupId,
        reason: action.reason ?? null,
        ...actingFor(action),
      });
      enqueue(event, 'matter.released', assignee(), [], { from, reason: action.reason ?? null });
      return { seq: event.seq, state: event.after };
    },
    { validator: (action) => refuseOn(() => checkRelease(state, action)) },
  );

  setHandler(modifyUpdate, applyModify, {
    validator: (action) => refuseOn(() => checkModify(state, action)),
  });
  setHandler(cancelUpdate, applyCancel, {
    validator: (action) => refuseOn(() => checkCancel(state, action)),
  });
  setHandler(
    scheduleChangeUpdate,
    async (change: ScheduledChange): Promise<ActionResult> => {
      if (await waitedForOpening()) refuseOn(() => checkSchedule(state, change));
      state.scheduledChanges = [...state.scheduledChanges, change].sort(
        (a, b) => Date.parse(a.effectiveAt) - Date.parse(b.effectiveAt),
      );
      planVersion += 1;
      const event = await record('change.scheduled', change.action.actorId, {
        changeRequestId: change.changeRequestId,
        kind: change.kind,
        effectiveAt: change.effectiveAt,
        reason: change.action.reason,
      });
      return { seq: event.seq, state: event.after };
    },
    { validator: (change) => refuseOn(() => checkSchedule(state, change)) },
  );

  publishSearchAttributes();
  upsertMemo({ title: state.title });
  planning = opening && engine && !carried ? opening : await contextFor(state.handlerId);
  if (!carried) {
    const assigned = await record('matter.assigned', state.createdBy, {
      handlerId: state.handlerId,
      ...offeredTo(),
    });
    enqueue(assigned, 'matter.assigned', assignee(), noticeActions());
  }
  opened = true;

  while (state.status === 'open') {
    // A matter may stay open for months; a fresh run keeps its history within the engine's limits.
    if (workflowInfo().continueAsNewSuggested || (engine && workflowInfo().historyLength > HISTORY_LIMIT)) {
      await condition(() => allHandlersFinished() && inFlight.size === 0);
      if (state.status === 'open') return await continueAsNew<typeof matterWorkflow>(input, snapshot());
      break;
    }
    const next = planFromState();
    state.nextNoticeAt = next ? new Date(next.at).toISOString() : null;
    const change = state.scheduledChanges[0];
    const wakeAt = Math.min(
      next?.at ?? Number.POSITIVE_INFINITY,
      change ? Date.parse(change.effectiveAt) : Number.POSITIVE_INFINITY,
    );
    const seen = planVersion;
    const interrupted = () => planVersion !== seen || state.status !== 'open';
    if (wakeAt === Number.POSITIVE_INFINITY) {
      await condition(interrupted);
      continue;
    }
    if (await condition(interrupted, Math.max(0, wakeAt - nowMs()))) continue;
    if (change && Date.parse(change.effectiveAt) <= nowMs()) {
      state.scheduledChanges = state.scheduledChanges.slice(1);
      await applyScheduled(change);
      continue;
    }
    if (!next) continue;
    keep(afterNotice(progressOf(), next));
    if (next.kind === 'escalation') {
      if (patched('escalation-level-attribute')) publishSearchAttributes();
      // One-rung ladders (the first contract's escalateAfter) keep their original event shape.
      const rung = schedule().ladder.length > 1 ? { level: next.level } : {};
      const event = await record('matter.escalated', null, {
        handlerId: state.handlerId,
        ...offeredTo(),
        ...rung,
      });
      enqueue(
        event,
        'matter.escalated',
        recipientOf(next.to),
        next.to === 'handler' ? noticeActions() : [],
        {},
        next.channels,
      );
    } else {
      const beforeDue = next.kind === 'beforeDue' ? { beforeDue: true } : {};
      const event = await record('matter.reminder', null, {
        index: next.index,
        skipped: next.skipped,
        ...beforeDue,
      });
      enqueue(event, 'matter.reminder', assignee(), noticeActions());
    }
  }

  await condition(() => allHandlersFinished() && inFlight.size === 0);
  return snapshot();

  /** Side work the run waits for before it ends or hands over; a failure is logged, the matter goes on. */
  function track(work: Promise<unknown>, failed: (error: string) => void): void {
    const tracked: Promise<void> = work
      .then(
        () => undefined,
        (err) => failed(String(err)),
      )
      .finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }

  function converge(outcome: ConvergeInput): void {
    // Cards left as they were still lead to a page that says what happened.
    track(
      untilSent(() => convergeMessages(outcome)),
      (error) => log.warn('cards not brought up to date', { type: outcome.type, error }),
    );
  }

  function send(notice: Notice): void {
    // The delivery log already holds every failed attempt.
    track(
      untilSent(() => deliverNotice({ workflowId, ...notice })),
      (error) => log.warn('notice undeliverable', { seq: notice.seq, type: notice.type, error }),
    );
  }
}

function guard<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    return refuse(err);
  }
}

function refuseOn(check: () => unknown): void {
  guard(check);
}
