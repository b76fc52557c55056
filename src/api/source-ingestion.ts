import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { audit } from '../db/audit.js';
import type { Sql } from '../db/client.js';
import { findMatterByKey, type MatterRow, unopened } from '../db/matters.js';
import type { SourceSystem } from '../db/source-systems.js';
import {
  acceptVersion,
  type HeldVersion,
  heldVersion,
  listStale,
  reconcile,
  recordStale,
} from '../db/source-versions.js';
import { changesOf, type ModifyAction } from '../domain/actions.js';
import type { MatterState, Priority } from '../domain/matter.js';
import {
  CANCELLED,
  changedFields,
  type HeldContent,
  isCancel,
  judge,
  type SourceContent,
} from '../domain/source-version.js';
import type { Logger } from '../logger.js';
import { type ChangeService, definitionOf } from './change-service.js';
import { ApiError, conflict, notFound } from './errors.js';
import type { MatterService } from './matter-service.js';
import type { MatterChanges, MatterInputBody } from './schemas.js';
import { type SourceMatterBody, SourceMatterItem, type WriteStatus } from './source-schemas.js';

/** Temporal starts are the cost of a bulk push; this many at once keep a 1,000-item push in seconds. */
const BULK_CONCURRENCY = 24;

export interface WriteOutcome {
  status: Exclude<WriteStatus, 'stale' | 'error'>;
  externalId: string;
  version: number;
  matterId?: string;
  matterStatus?: MatterRow['status'];
  changeRequestId?: string;
  heldVersion?: number;
}

export interface BulkItemResult extends Omit<Partial<WriteOutcome>, 'status' | 'externalId' | 'version'> {
  index: number;
  status: WriteStatus;
  externalId: string | null;
  version: number | null;
  error?: { code: string; message: string; field?: string };
}

/** Refusals the API raises without naming a field, and the field each is about. */
const FIELD_OF_CODE: Record<string, string> = {
  UNKNOWN_HANDLER: 'handlerId',
  UNKNOWN_GROUP: 'groupId',
  UNKNOWN_RULE_TEMPLATE: 'reminderRuleRef',
  UNKNOWN_CALENDAR: 'reminderRule.calendar',
  STALE_VERSION: 'version',
  VERSION_CONFLICT: 'version',
  MATTER_CONFLICT: 'externalId',
};

/** Names the field a refusal is about as `at.<field>`, so a bulk item's error says `items[17].dueAt`. */
export function fieldOf(err: ApiError, at: string): string | undefined {
  const first = Array.isArray(err.details) ? (err.details[0] as { field?: unknown } | undefined) : undefined;
  if (typeof first?.field === 'string') return first.field.replace(/^body(?=\.|$)/, at);
  const field = FIELD_OF_CODE[err.code];
  return field ? `${at}.${field}` : undefined;
}

const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
addFormats.default(ajv);
const validItem = ajv.compile<SourceMatterItem>(SourceMatterItem);

function validationError(e: ErrorObject, at: string): { code: string; message: string; field: string } {
  const path = e.instancePath.split('/').filter(Boolean).join('.');
  const child =
    e.keyword === 'required'
      ? (e.params as { missingProperty: string }).missingProperty
      : e.keyword === 'additionalProperties'
        ? (e.params as { additionalProperty: string }).additionalProperty
        : '';
  const field = [at, path, child].filter(Boolean).join('.');
  return { code: 'VALIDATION_FAILED', message: `${field} ${e.message ?? 'is invalid'}`, field };
}

/** The source's statement, normalized: an omitted default equals the default, a time its instant. */
function contentOf(body: Omit<SourceMatterBody, 'version'>): SourceContent {
  return {
    title: body.title,
    details: body.details ?? null,
    link: body.link ?? null,
    dueAt: body.dueAt ? new Date(body.dueAt).toISOString() : null,
    priority: body.priority ?? 'normal',
    reminderRule: body.reminderRule ?? null,
    reminderRuleRef: body.reminderRuleRef ?? null,
    handlerId: body.handlerId ?? null,
    groupId: body.groupId ?? null,
  };
}

/** A matter pushed before it had a version, in the source's terms: the base its first version changes. */
function contentOfMatter(row: MatterRow): SourceContent {
  return {
    title: row.title,
    details: row.details,
    link: row.link,
    dueAt: row.dueAt?.toISOString() ?? null,
    priority: row.priority,
    reminderRule: row.reminderRuleRef ? null : row.reminderRule,
    reminderRuleRef: row.reminderRuleRef,
    handlerId: row.handlerId,
    groupId: row.groupId,
  };
}

async function eachLimited<T>(items: T[], limit: number, run: (item: T, index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await run(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface SourceIngestionDeps {
  sql: Sql;
  matters: MatterService;
  changes: ChangeService;
  log: Logger;
}

/**
 * The source-system contract: writes keyed by (source, externalId) with the source's version.
 * A trusted source's writes apply at once; an untrusted one's wait for a reviewer, holding their
 * version meanwhile. Everything accepted or dropped is in the audit trail.
 */
export function sourceIngestion({ sql, matters, changes, log }: SourceIngestionDeps) {
  // Writes of one matter run one after another in this process, so two versions sent at once
  // reach its workflow in the order they are judged.
  const running = new Map<string, Promise<unknown>>();
  function oneAtATime<T>(key: string, run: () => Promise<T>): Promise<T> {
    const before = running.get(key) ?? Promise.resolve();
    const mine = before.then(run, run);
    const settled = mine.catch(() => {});
    running.set(key, settled);
    void settled.then(() => {
      if (running.get(key) === settled) running.delete(key);
    });
    return mine;
  }

  const trusted = (src: SourceSystem) => src.trusted && src.active;
  const reasonFor = (src: SourceSystem, version: number) => `version ${version} from source ${src.code}`;

  async function record(
    src: SourceSystem,
    externalId: string,
    actor: string,
    action: string,
    data: Record<string, unknown>,
    accept?: { matterId: string; version: number; content: HeldContent },
  ) {
    await sql.begin(async (tx) => {
      if (accept) await acceptVersion(tx, accept.matterId, accept.version, accept.content);
      await audit(tx, {
        actorId: actor,
        action,
        entityType: 'source_matter',
        entityId: `${src.code}/${externalId}`,
        data,
      });
    });
  }

  /** Dropped, recorded for the source to read, and refused with both versions. */
  async function stale(
    src: SourceSystem,
    externalId: string,
    kind: 'upsert' | 'cancel',
    version: number,
    held: number,
    actor: string,
  ): Promise<never> {
    await sql.begin(async (tx) => {
      await recordStale(tx, { source: src.code, externalId, kind, received: version, held, by: actor });
      await audit(tx, {
        actorId: actor,
        action: 'source_matter.stale_dropped',
        entityType: 'source_matter',
        entityId: `${src.code}/${externalId}`,
        data: { kind, versionReceived: version, versionHeld: held },
      });
    });
    throw new ApiError(
      409,
      'STALE_VERSION',
      `version ${version} of ${src.code}/${externalId} is older than the version ${held} held here; it was dropped`,
      { status: 'stale', version, heldVersion: held },
    );
  }

  function versionConflict(src: SourceSystem, externalId: string, version: number): ApiError {
    return conflict(
      'VERSION_CONFLICT',
      `version ${version} of ${src.code}/${externalId} was sent before with other content; send a higher version to change it`,
    );
  }

  function pendingReview(held: HeldVersion): ApiError {
    return new ApiError(
      409,
      'CHANGE_PENDING',
      `version ${held.version} of this matter awaits review; send the newer version again once it is decided`,
      { changeRequestId: held.pendingChangeRequestId, heldVersion: held.version },
    );
  }

  /** A resend of the version held gets the answer it got, as it stands now. */
  function sameAgain(held: HeldVersion, row: MatterRow | null, externalId: string, version: number) {
    if (held.pendingChangeRequestId) {
      return {
        status: 'pending_review',
        externalId,
        version,
        changeRequestId: held.pendingChangeRequestId,
        ...(row ? { matterId: row.id, matterStatus: row.status } : {}),
      } satisfies WriteOutcome;
    }
    return {
      status: 'unchanged',
      externalId,
      version,
      ...(row ? { matterId: row.id, matterStatus: row.status } : {}),
    } satisfies WriteOutcome;
  }

  async function create(
    src: SourceSystem,
    externalId: string,
    body: SourceMatterBody,
    content: SourceContent,
    actor: string,
  ): Promise<WriteOutcome> {
    const { version, ...definition } = body;
    const input: MatterInputBody = { source: src.code, externalId, ...definition };
    if (!trusted(src)) {
      const cr = await changes.propose(
        { kind: 'add', matter: input, reason: reasonFor(src, version) },
        actor,
        { version, content: { ...content } },
      );
      return { status: 'pending_review', externalId, version, changeRequestId: cr.id };
    }
    const created = await matters.create(input, actor);
    await record(
      src,
      externalId,
      actor,
      'source_matter.created',
      { version, matterId: created.id },
      { matterId: created.id, version, content },
    );
    return {
      status: created.created ? 'created' : 'unchanged',
      externalId,
      version,
      matterId: created.id,
      matterStatus: created.status,
    };
  }

  async function modify(
    src: SourceSystem,
    row: MatterRow,
    held: HeldVersion | null,
    version: number,
    content: SourceContent,
    actor: string,
  ): Promise<WriteOutcome> {
    const externalId = row.externalId;
    if (row.status !== 'open') {
      throw conflict('MATTER_NOT_OPEN', `matter ${src.code}/${externalId} is already ${row.status}`);
    }
    // What the source changed since its last version; a handler's transfer or a manager's edit
    // of a field the source left alone stays.
    const base = held && !isCancel(held.content) ? held.content : contentOfMatter(row);
    const fields = changedFields(base, content);
    // A matter's group is fixed at creation, and a modify can hand it on but not take its handler away.
    const fixed = fields.includes('groupId')
      ? 'groupId'
      : content.handlerId === null && fields.includes('handlerId')
        ? 'handlerId'
        : null;
    if (fixed) {
      throw new ApiError(
        422,
        'FIELD_NOT_MODIFIABLE',
        `${fixed} of an existing matter cannot be changed this way; a handler can be changed, not removed`,
        [{ field: `body.${fixed}` }],
      );
    }
    const proposed: MatterChanges = {};
    for (const field of fields) {
      if (field === 'title') proposed.title = content.title;
      if (field === 'details') proposed.details = content.details;
      if (field === 'link') proposed.link = content.link;
      if (field === 'dueAt') proposed.dueAt = content.dueAt;
      if (field === 'priority') proposed.priority = content.priority as Priority;
      if (field === 'handlerId' && content.handlerId) {
        await matters.checkAssignee({ handlerId: content.handlerId });
        proposed.handlerId = content.handlerId;
      }
      if (field === 'reminderRule') {
        const { reminderRule } = await matters.resolveRule({
          priority: content.priority as Priority,
          ...(content.reminderRule ? { reminderRule: content.reminderRule } : {}),
          ...(content.reminderRuleRef ? { reminderRuleRef: content.reminderRuleRef } : {}),
        });
        proposed.reminderRule = reminderRule as MatterChanges['reminderRule'];
      }
    }
    const reason = reasonFor(src, version);
    const effective = Object.keys(
      changesOf(
        definitionOf(row) as unknown as MatterState,
        { actorId: actor, reason, ...proposed } as ModifyAction,
      ),
    );
    const picked = Object.fromEntries(
      Object.entries(proposed).filter(([k]) => effective.includes(k)),
    ) as MatterChanges;
    const ids = { externalId, version, matterId: row.id };
    if (effective.length === 0) {
      // Nothing to change on the matter, so nothing to review: the version is simply held.
      await record(
        src,
        externalId,
        actor,
        'source_matter.version_accepted',
        { version, matterId: row.id },
        { matterId: row.id, version, content },
      );
      return { status: 'unchanged', ...ids, matterStatus: row.status };
    }
    if (!trusted(src)) {
      const cr = await changes.propose({ kind: 'modify', matterId: row.id, changes: picked, reason }, actor, {
        version,
        content: { ...content },
      });
      return { status: 'pending_review', ...ids, matterStatus: row.status, changeRequestId: cr.id };
    }
    const result = await matters.modify(row.id, { actorId: actor, reason, ...picked } as ModifyAction);
    await record(
      src,
      externalId,
      actor,
      'source_matter.modified',
      { version, matterId: row.id, fields: effective },
      { matterId: row.id, version, content },
    );
    return { status: 'modified', ...ids, matterStatus: result.status };
  }

  /** Raises refusals with the field they are about named under `at`; structured details stay. */
  async function located<T>(at: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
      if (err.details !== undefined && !Array.isArray(err.details)) throw err;
      const field = fieldOf(err, at);
      if (!field) throw err;
      throw new ApiError(err.statusCode, err.code, err.message, [{ field }]);
    }
  }

  async function upsert(
    src: SourceSystem,
    externalId: string,
    body: SourceMatterBody,
    actor: string,
    at = 'body',
  ): Promise<WriteOutcome> {
    const { version, ...definition } = body;
    const content = contentOf(definition);
    return located(at, () =>
      oneAtATime(`${src.code}\u0000${externalId}`, async () => {
        const [held, row] = await Promise.all([
          heldVersion(sql, src.code, externalId),
          findMatterByKey(sql, src.code, externalId),
        ]);
        const verdict = judge(held, version, content);
        if (verdict.kind === 'stale') return stale(src, externalId, 'upsert', version, verdict.held, actor);
        if (verdict.kind === 'conflict') throw versionConflict(src, externalId, version);
        if (verdict.kind === 'same' && held) return sameAgain(held, row, externalId, version);
        if (held?.pendingChangeRequestId) throw pendingReview(held);
        // A create that got no answer from the engine holds no version but keeps its matter: finish it.
        if (!row || (!held && (await unopened(sql, row.id))))
          return create(src, externalId, body, content, actor);
        return modify(src, row, held, version, content, actor);
      }),
    );
  }

  return {
    upsert,

    /**
     * The source withdraws its matter. Like its other writes, a trusted source's cancel applies at
     * once and an untrusted one's waits for review: a cancel takes work away from a handler, which
     * is no less a change than a new matter.
     */
    cancel(
      src: SourceSystem,
      externalId: string,
      version: number,
      reason: string | undefined,
      actor: string,
    ) {
      return located('querystring', () =>
        oneAtATime(`${src.code}\u0000${externalId}`, async (): Promise<WriteOutcome> => {
          const [held, row] = await Promise.all([
            heldVersion(sql, src.code, externalId),
            findMatterByKey(sql, src.code, externalId),
          ]);
          if (!row && !held) throw notFound('MATTER_NOT_FOUND', `no matter ${src.code}/${externalId}`);
          const verdict = judge(held, version, CANCELLED);
          if (verdict.kind === 'stale') return stale(src, externalId, 'cancel', version, verdict.held, actor);
          if (verdict.kind === 'conflict') throw versionConflict(src, externalId, version);
          if (verdict.kind === 'same' && held) return sameAgain(held, row, externalId, version);
          if (held?.pendingChangeRequestId) throw pendingReview(held);
          if (!row) throw notFound('MATTER_NOT_FOUND', `no matter ${src.code}/${externalId}`);
          const why = reason ?? reasonFor(src, version);
          const base = { externalId, version, matterId: row.id };
          if (row.status === 'cancelled') {
            await record(
              src,
              externalId,
              actor,
              'source_matter.version_accepted',
              { version, matterId: row.id },
              { matterId: row.id, version, content: CANCELLED },
            );
            return { status: 'unchanged', ...base, matterStatus: row.status };
          }
          if (row.status !== 'open') {
            throw conflict('MATTER_NOT_OPEN', `matter ${src.code}/${externalId} is already ${row.status}`);
          }
          if (!trusted(src)) {
            const cr = await changes.propose({ kind: 'delete', matterId: row.id, reason: why }, actor, {
              version,
              content: { ...CANCELLED },
            });
            return { status: 'pending_review', ...base, matterStatus: row.status, changeRequestId: cr.id };
          }
          const result = await matters.cancel(row.id, { actorId: actor, reason: why });
          await record(
            src,
            externalId,
            actor,
            'source_matter.cancelled',
            { version, matterId: row.id, reason: why },
            { matterId: row.id, version, content: CANCELLED },
          );
          return { status: 'cancelled', ...base, matterStatus: result.status };
        }),
      );
    },

    /** Each item on its own: a bad one gets a precise error and never holds up the others. */
    async bulk(src: SourceSystem, items: unknown[], actor: string) {
      const results: BulkItemResult[] = new Array(items.length);
      await eachLimited(items, BULK_CONCURRENCY, async (item, index) => {
        const at = `items[${index}]`;
        const raw = (item ?? {}) as { externalId?: unknown; version?: unknown };
        const ids = {
          index,
          externalId: typeof raw.externalId === 'string' ? raw.externalId : null,
          version: Number.isSafeInteger(raw.version) ? (raw.version as number) : null,
        };
        if (!validItem(item)) {
          const first = validItem.errors?.[0];
          results[index] = {
            ...ids,
            status: 'error',
            error: first
              ? validationError(first, at)
              : { code: 'VALIDATION_FAILED', message: `${at} is invalid`, field: at },
          };
          return;
        }
        const { externalId, ...body } = item;
        try {
          results[index] = { index, ...(await upsert(src, externalId, body, actor, at)) };
        } catch (err) {
          if (err instanceof ApiError && err.code === 'STALE_VERSION') {
            const heldVersion = (err.details as { heldVersion: number }).heldVersion;
            results[index] = { ...ids, status: 'stale', heldVersion };
          } else if (err instanceof ApiError) {
            const field = fieldOf(err, at);
            results[index] = {
              ...ids,
              status: 'error',
              error: { code: err.code, message: err.message, ...(field ? { field } : {}) },
            };
          } else {
            log.error({ err, source: src.code, externalId }, 'bulk item failed');
            results[index] = {
              ...ids,
              status: 'error',
              error: { code: 'INTERNAL', message: 'something went wrong on our side; it has been logged' },
            };
          }
        }
      });
      const counts: Record<string, number> = {};
      for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
      return { results, counts };
    },

    reconcile: (src: SourceSystem, openIds: string[]) => reconcile(sql, src.code, openIds),

    staleUpdates: (src: SourceSystem, page: { limit: number; after?: number }) =>
      listStale(sql, src.code, page),
  };
}

export type SourceIngestion = ReturnType<typeof sourceIngestion>;
