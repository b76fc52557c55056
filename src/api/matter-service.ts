import { createHash, randomUUID } from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Sql } from '../db/client.js';
import { handlerExists } from '../db/handlers.js';
import { getMatter, type MatterRow, releaseReservation, reserveMatter } from '../db/matters.js';
import { findTemplate } from '../db/rule-templates.js';
import type {
  CancelAction,
  CompleteAction,
  FileExceptionAction,
  ModifyAction,
  ScheduledChange,
  TransferAction,
} from '../domain/actions.js';
import {
  type MatterInput,
  type MatterState,
  type Priority,
  type MatterStatus as Status,
  workflowIdFor,
} from '../domain/matter.js';
import { defaultRuleFor, parseRule, type ReminderRule, RuleError } from '../domain/reminder-rule.js';
import type { matterWorkflow } from '../workflows/matter.js';
import {
  type ActionResult,
  cancelUpdate,
  completeUpdate,
  fileExceptionUpdate,
  modifyUpdate,
  scheduleChangeUpdate,
  transferUpdate,
} from '../workflows/messages.js';
import {
  MatterDueAt,
  MatterHandler,
  MatterPriority,
  MatterSource,
  MatterStatus,
} from '../workflows/search-attributes.js';
import { ApiError, badRequest, conflict, notFound, unavailable, unprocessable } from './errors.js';
import type { MatterInputBody } from './schemas.js';
import { toApiError } from './temporal-errors.js';

export interface MatterServiceDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  actionTimeoutMs: number;
}

export interface CreateResult {
  created: boolean;
  id: string;
  workflowId: string;
  status: Status;
}

function canonicalHash(body: MatterInputBody): string {
  const ordered = Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
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
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}

export function matterService({ sql, temporal, taskQueue, actionTimeoutMs }: MatterServiceDeps) {
  async function startWorkflow(
    input: MatterInput,
    workflowId: string,
    startAt: Date | null = null,
  ): Promise<void> {
    try {
      await temporal.workflow.start<typeof matterWorkflow>('matterWorkflow', {
        workflowId,
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        ...(startAt && startAt.getTime() > Date.now() ? { startDelay: startAt.getTime() - Date.now() } : {}),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { title: input.title },
        typedSearchAttributes: [
          { key: MatterHandler, value: input.handlerId },
          { key: MatterStatus, value: 'open' },
          { key: MatterSource, value: input.source },
          { key: MatterPriority, value: input.priority },
          ...(input.dueAt ? [{ key: MatterDueAt, value: new Date(input.dueAt) }] : []),
        ],
      });
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
  function update<A>(row: MatterRow, definition: UpdateDefinition<ActionResult, [A]>, action: A) {
    return temporal.withDeadline(Date.now() + actionTimeoutMs, () =>
      temporal.workflow.getHandle(row.workflowId).executeUpdate(definition, { args: [action] }),
    );
  }

  function checkRule(rule: ReminderRule): void {
    try {
      parseRule(rule);
    } catch (err) {
      if (err instanceof RuleError) {
        throw badRequest(err.code, err.message, [{ field: `body.reminderRule.${err.field}` }]);
      }
      throw err;
    }
  }

  async function checkHandler(handlerId: string): Promise<void> {
    if (!(await handlerExists(sql, handlerId))) {
      throw unprocessable('UNKNOWN_HANDLER', `no active handler "${handlerId}"`);
    }
  }

  /** A matter's rule: given inline, taken from a catalog template (pinned to its version), or the priority's default. */
  async function resolveRule(
    body: Pick<MatterInputBody, 'priority' | 'reminderRule' | 'reminderRuleRef'>,
  ): Promise<{ reminderRule: ReminderRule; reminderRuleRef: { code: string; version: number } | null }> {
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
      return { reminderRule: template.rule, reminderRuleRef: { code, version: template.version } };
    }
    const reminderRule = body.reminderRule ?? defaultRuleFor(body.priority ?? 'normal');
    checkRule(reminderRule);
    return { reminderRule, reminderRuleRef: null };
  }

  return {
    resolveRule,
    checkRule,
    checkHandler,

    /** `startAt` in the future delays the matter: its run starts, and its clock counts, from then. */
    async create(
      body: MatterInputBody,
      createdBy: string,
      options: { startAt?: Date | null } = {},
    ): Promise<CreateResult> {
      const priority = body.priority ?? 'normal';
      const { reminderRule, reminderRuleRef } = await resolveRule(body);
      await checkHandler(body.handlerId);
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
        handlerId: body.handlerId,
        createdBy,
        createdAt: (options.startAt ?? new Date()).toISOString(),
      };
      const requestHash = canonicalHash(body);
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
        await startWorkflow(input, workflowId, options.startAt ?? null);
      } catch (err) {
        await releaseReservation(sql, input.id).catch(() => {});
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
      return act(id, (row) => update(row, transferUpdate, action));
    },

    fileException(id: string, action: FileExceptionAction) {
      return act(id, (row) => update(row, fileExceptionUpdate, action));
    },

    modify(id: string, action: ModifyAction) {
      return act(id, (row) => update(row, modifyUpdate, action));
    },

    schedule(id: string, change: ScheduledChange) {
      return act(id, (row) => update(row, scheduleChangeUpdate, change));
    },

    cancel(id: string, action: CancelAction) {
      return act(id, (row) => update(row, cancelUpdate, action));
    },

    load,
  };
}

export type MatterService = ReturnType<typeof matterService>;
