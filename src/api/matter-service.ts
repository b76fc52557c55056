import { createHash, randomUUID } from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Histogram } from 'prom-client';
import { WORKFLOW_TASK_TIMEOUT_MS } from '../activities/contracts.js';
import { calendarInUse } from '../db/business-calendars.js';
import type { Sql } from '../db/client.js';
import { standsInFor } from '../db/delegations.js';
import { findExceptionType } from '../db/exception-types.js';
import { groupExists } from '../db/groups.js';
import { getHandler, type HandlerRecord, quietHoursOf } from '../db/handlers.js';
import { getMatter, type MatterRow, releaseReservation, reserveMatter } from '../db/matters.js';
import { findTemplate } from '../db/rule-templates.js';
import type {
  AcknowledgeAction,
  CancelAction,
  ClaimAction,
  CompleteAction,
  FileExceptionAction,
  ModifyAction,
  RejectTransferAction,
  ReleaseAction,
  ScheduledChange,
  TransferAction,
} from '../domain/actions.js';
import { type BusinessCalendar, ROUND_THE_CLOCK } from '../domain/calendar.js';
import { validateFilingFields } from '../domain/exception-type.js';
import {
  type MatterInput,
  type MatterState,
  type Priority,
  type MatterStatus as Status,
  workflowIdFor,
} from '../domain/matter.js';
import type { PlanningContext } from '../domain/planner.js';
import { defaultRuleFor, type ReminderRule, RuleError } from '../domain/reminder-rule.js';
import { parseSchedule, type Schedule } from '../domain/schedule.js';
import type { matterWorkflow } from '../workflows/matter.js';
import {
  type ActionResult,
  acknowledgeUpdate,
  cancelUpdate,
  claimUpdate,
  completeUpdate,
  fileExceptionUpdate,
  modifyUpdate,
  rejectTransferUpdate,
  releaseUpdate,
  scheduleChangeUpdate,
  transferUpdate,
} from '../workflows/messages.js';
import {
  MatterDueAt,
  MatterGroup,
  MatterHandler,
  MatterPriority,
  MatterSource,
  MatterStatus,
} from '../workflows/search-attributes.js';
import { ApiError, badRequest, conflict, notFound, unavailable, unprocessable } from './errors.js';
import type { MatterInputBody } from './schemas.js';
import { refusedByEngine, toApiError } from './temporal-errors.js';

export interface MatterServiceDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  actionTimeoutMs: number;
  /** More transfers than this alert the manager; absent, none do. */
  transferAlertAfter?: number;
  /** Observes each Update's round trip, labelled with the Update's wire name. */
  actionLatency?: Histogram<'action'>;
}

export interface CreateResult {
  created: boolean;
  id: string;
  workflowId: string;
  status: Status;
}

/**
 * The matter as resolved, not as worded: a resend that omits a default, or one that a reviewer
 * approved with the defaults filled in, is the same matter.
 */
function canonicalHash(input: MatterInput): string {
  const content = {
    source: input.source,
    externalId: input.externalId,
    title: input.title,
    details: input.details,
    link: input.link,
    dueAt: input.dueAt,
    priority: input.priority,
    reminderRule: parseSchedule(input.reminderRule),
    handlerId: input.handlerId,
    groupId: input.groupId ?? null,
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

function inputFromRow(row: MatterRow): MatterInput {
  return {
    id: row.id,
    source: row.source,
    externalId: row.externalId,
    title: row.title,
    details: row.details,
    link: row.link,
    dueAt: row.dueAt?.toISOString() ?? null,
    priority: row.priority as Priority,
    reminderRule: row.reminderRule as unknown as ReminderRule,
    reminderRuleRef: row.reminderRuleRef,
    handlerId: row.handlerId,
    groupId: row.groupId,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}

export function matterService({
  sql,
  temporal,
  taskQueue,
  actionTimeoutMs,
  transferAlertAfter,
  actionLatency,
}: MatterServiceDeps) {
  async function startWorkflow(
    input: MatterInput,
    workflowId: string,
    startAt: Date | null = null,
    opening?: PlanningContext,
  ): Promise<void> {
    try {
      // An engine that is away would hold the caller for the client's whole retry budget (some 20 s):
      // give up after the action timeout, as an Update does, and answer 503.
      await temporal.withDeadline(Date.now() + actionTimeoutMs, () =>
        temporal.workflow.start<typeof matterWorkflow>('matterWorkflow', {
          workflowId,
          taskQueue,
          args: opening ? [input, undefined, opening] : [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          ...(startAt && startAt.getTime() > Date.now()
            ? { startDelay: startAt.getTime() - Date.now() }
            : {}),
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT_MS,
          memo: { title: input.title },
          typedSearchAttributes: [
            ...(input.handlerId ? [{ key: MatterHandler, value: input.handlerId }] : []),
            ...(input.groupId ? [{ key: MatterGroup, value: input.groupId }] : []),
            { key: MatterStatus, value: 'open' },
            { key: MatterSource, value: input.source },
            { key: MatterPriority, value: input.priority },
            ...(input.dueAt ? [{ key: MatterDueAt, value: new Date(input.dueAt) }] : []),
          ],
        }),
      );
    } catch (err) {
      // Already ran to completion under this id: creation was done long ago.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  async function load(id: string): Promise<MatterRow> {
    const row = await getMatter(sql, id);
    if (!row) throw notFound('MATTER_NOT_FOUND', `no matter ${id}`);
    return row;
  }

  async function act(id: string, run: (row: MatterRow) => Promise<{ seq: number; state: MatterState }>) {
    const row = await load(id);
    if (row.status !== 'open') {
      const by = row.completedBy ? ` by ${row.completedBy}` : '';
      throw conflict('MATTER_NOT_OPEN', `matter is already ${row.status}${by}`);
    }
    try {
      const result = await run(row);
      return { id, status: result.state.status, handlerId: result.state.handlerId, seq: result.seq };
    } catch (err) {
      throw toApiError(err);
    }
  }

  /** Without a worker an Update would wait forever; the caller gets a 503 instead. */
  async function update<A>(row: MatterRow, definition: UpdateDefinition<ActionResult, [A]>, action: A) {
    const done = actionLatency?.startTimer({ action: definition.name });
    try {
      return await temporal.withDeadline(Date.now() + actionTimeoutMs, () =>
        temporal.workflow.getHandle(row.workflowId).executeUpdate(definition, { args: [action] }),
      );
    } finally {
      done?.();
    }
  }

  /** A rule must parse, and the calendar it names must exist and be in use (none: round the clock). */
  async function checkRule(
    rule: ReminderRule,
    field = 'body.reminderRule',
  ): Promise<{ schedule: Schedule; calendar: BusinessCalendar }> {
    let schedule: Schedule;
    try {
      schedule = parseSchedule(rule);
    } catch (err) {
      if (err instanceof RuleError)
        throw badRequest(err.code, err.message, [{ field: `${field}.${err.field}` }]);
      throw err;
    }
    if (schedule.calendar === null) return { schedule, calendar: ROUND_THE_CLOCK };
    const calendar = await calendarInUse(sql, schedule.calendar);
    if (!calendar) {
      throw unprocessable('UNKNOWN_CALENDAR', `no business calendar "${schedule.calendar}" in use`);
    }
    return { schedule, calendar };
  }

  /** A matter goes to one handler or is offered to one group, never both or neither; the handler, if one. */
  async function checkAssignee(
    body: Pick<MatterInputBody, 'handlerId' | 'groupId'>,
  ): Promise<HandlerRecord | null> {
    if ((body.handlerId === undefined) === (body.groupId === undefined)) {
      throw badRequest('ASSIGNEE_REQUIRED', 'give exactly one of handlerId and groupId', [
        { field: 'body.handlerId' },
        { field: 'body.groupId' },
      ]);
    }
    const handler = body.handlerId === undefined ? null : await getHandler(sql, body.handlerId);
    if (body.handlerId !== undefined && !handler?.active) {
      throw unprocessable('UNKNOWN_HANDLER', `no active handler "${body.handlerId}"`);
    }
    if (body.groupId !== undefined && !(await groupExists(sql, body.groupId))) {
      throw unprocessable('UNKNOWN_GROUP', `no active group "${body.groupId}"`);
    }
    return handler;
  }

  /**
   * A matter's rule: given inline, taken from a catalog template (pinned to its version), or the priority's
   * default; with the calendar it counts on.
   */
  async function resolveRule(
    body: Pick<MatterInputBody, 'priority' | 'reminderRule' | 'reminderRuleRef'>,
  ): Promise<{
    reminderRule: ReminderRule;
    reminderRuleRef: { code: string; version: number } | null;
    calendar: BusinessCalendar;
  }> {
    if (body.reminderRule && body.reminderRuleRef) {
      throw badRequest('RULE_AND_TEMPLATE', 'give either reminderRule or reminderRuleRef, not both', [
        { field: 'body.reminderRuleRef' },
      ]);
    }
    if (body.reminderRuleRef) {
      const { code, version } = body.reminderRuleRef;
      const template = await findTemplate(sql, code, version);
      if (!template) {
        const which = version === undefined ? code : `${code} v${version}`;
        throw unprocessable('UNKNOWN_RULE_TEMPLATE', `no reminder rule template ${which}`);
      }
      // A template's calendar no longer in use plans round the clock, as the run's own lookup would.
      const named = parseSchedule(template.rule).calendar;
      const calendar = (named && (await calendarInUse(sql, named))) || ROUND_THE_CLOCK;
      return { reminderRule: template.rule, reminderRuleRef: { code, version: template.version }, calendar };
    }
    const reminderRule = body.reminderRule ?? defaultRuleFor(body.priority ?? 'normal');
    return { reminderRule, reminderRuleRef: null, calendar: (await checkRule(reminderRule)).calendar };
  }

  return {
    resolveRule,
    checkRule,
    checkAssignee,

    /** `startAt` in the future delays the matter: its run starts, and its clock counts, from then. */
    async create(
      body: MatterInputBody,
      createdBy: string,
      options: { startAt?: Date | null } = {},
    ): Promise<CreateResult> {
      const priority = body.priority ?? 'normal';
      const { reminderRule, reminderRuleRef, calendar } = await resolveRule(body);
      const handler = await checkAssignee(body);
      const workflowId = workflowIdFor(body.source, body.externalId);
      const input: MatterInput = {
        id: randomUUID(),
        source: body.source,
        externalId: body.externalId,
        title: body.title,
        details: body.details ?? null,
        link: body.link ?? null,
        dueAt: body.dueAt ? new Date(body.dueAt).toISOString() : null,
        priority,
        reminderRule,
        reminderRuleRef,
        handlerId: body.handlerId ?? null,
        groupId: body.groupId ?? null,
        createdBy,
        createdAt: (options.startAt ?? new Date()).toISOString(),
      };
      const requestHash = canonicalHash(input);
      // As the checks above read them; a run that starts later reads its own, as calendars and quiet hours
      // may change meanwhile.
      const startsLater = !!options.startAt && options.startAt.getTime() > Date.now();
      const opening = startsLater ? undefined : { calendar, quiet: handler && quietHoursOf(handler) };
      const reservation = await reserveMatter(sql, { ...input, workflowId, requestHash });
      if (!reservation.created) {
        if (reservation.requestHash !== requestHash) {
          throw conflict(
            'MATTER_CONFLICT',
            `matter ${body.source}/${body.externalId} exists with different content; it was not changed`,
          );
        }
        const row = await load(reservation.id);
        // The first request may have died between reserving and starting: finish its job.
        await startWorkflow(inputFromRow(row), workflowId).catch((err) => {
          throw toApiError(err);
        });
        return { created: false, id: row.id, workflowId, status: row.status };
      }
      try {
        await startWorkflow(input, workflowId, options.startAt ?? null, opening);
      } catch (err) {
        // An engine that did not answer may have started the run all the same: the reservation then stays,
        // so that a resend of this request finds or starts that run under this matter's id.
        if (refusedByEngine(err)) await releaseReservation(sql, input.id).catch(() => {});
        const mapped = toApiError(err);
        if (mapped instanceof ApiError) throw mapped;
        throw unavailable('ENGINE_UNAVAILABLE', 'the workflow engine could not start the matter; try again');
      }
      return { created: true, id: input.id, workflowId, status: 'open' };
    },

    complete(id: string, action: CompleteAction) {
      return act(id, (row) => update(row, completeUpdate, action));
    },

    transfer(id: string, action: TransferAction) {
      return act(id, (row) => update(row, transferUpdate, { ...action, alertAfter: transferAlertAfter }));
    },

    /** The new handler hands a transferred matter back, with the reason, to whoever transferred it. */
    rejectTransfer(id: string, action: RejectTransferAction) {
      return act(id, (row) =>
        update(row, rejectTransferUpdate, { ...action, alertAfter: transferAlertAfter }),
      );
    },

    /** The catalog decides which types exist, which fields each needs, and who hears of a filing. */
    async fileException(id: string, action: FileExceptionAction) {
      const type = await findExceptionType(sql, action.eventType);
      if (!type?.active) {
        throw unprocessable(
          'UNKNOWN_EVENT_TYPE',
          `no exception event type "${action.eventType}" can be filed`,
        );
      }
      const problems = validateFilingFields(type.fieldsSchema, action.fields ?? {});
      if (problems.length > 0) {
        throw badRequest(
          'INVALID_FIELDS',
          `the fields do not fit event type ${type.code}: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
          problems,
        );
      }
      const idsOf = (kind: 'handler' | 'group') =>
        type.subscribers.flatMap((s) => (s.kind === kind ? [s.id] : []));
      const webhooks = type.subscribers.flatMap((s) => (s.kind === 'webhook' ? [s.url] : []));
      const filing: FileExceptionAction = {
        ...action,
        filingId: randomUUID(),
        eventTypeVersion: type.version,
        severity: type.severity,
        onFiling: type.onFiling,
        subscribers: { handlerIds: idsOf('handler'), groupIds: idsOf('group'), webhooks },
      };
      const result = await act(id, (row) => update(row, fileExceptionUpdate, filing));
      return { ...result, filingId: filing.filingId };
    },

    modify(id: string, action: ModifyAction) {
      return act(id, (row) => update(row, modifyUpdate, action));
    },

    schedule(id: string, change: ScheduledChange) {
      return act(id, (row) => update(row, scheduleChangeUpdate, change));
    },

    acknowledge(id: string, action: AcknowledgeAction) {
      return act(id, (row) => update(row, acknowledgeUpdate, action));
    },

    claim(id: string, action: ClaimAction) {
      return act(id, (row) => update(row, claimUpdate, action));
    },

    release(id: string, action: ReleaseAction) {
      return act(id, (row) => update(row, releaseUpdate, action));
    },

    cancel(id: string, action: CancelAction) {
      return act(id, (row) => update(row, cancelUpdate, action));
    },

    load,

    /**
     * Who the caller acts as: themselves, or the absent handler they stand in for right now. Anyone
     * else is passed through as themselves, and the workflow refuses them with the exact reason.
     */
    async actorOn(actorId: string, row: MatterRow): Promise<{ actorId: string; onBehalfOf?: string }> {
      const standIn =
        row.handlerId !== null &&
        row.handlerId !== actorId &&
        (await standsInFor(sql, actorId, row.handlerId));
      return standIn && row.handlerId ? { actorId, onBehalfOf: row.handlerId } : { actorId };
    },
  };
}

export type MatterService = ReturnType<typeof matterService>;
