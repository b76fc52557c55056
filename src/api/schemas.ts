import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ROLES } from '../db/api-tokens.js';
import { MAX_ATTACHMENTS } from '../domain/exception-type.js';
import { MATTER_STATUSES, PRIORITIES } from '../domain/matter.js';
import { MAX_CAP } from '../domain/reminder-caps.js';

/** A row id or sequence a page continues after: a Postgres bigint, exact in JSON only up to 2^53. */
export const Cursor = (description: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });

/** A catalog entry's version: a Postgres integer. */
export const CatalogVersion = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const literals = <T extends string>(values: readonly T[]) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values] });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse' },
);

export const Id = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$',
  description: 'letters, digits, . _ @ -',
});
export const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });
const IsoDuration = Type.String({
  pattern: '^P(?!$)(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$',
  description: 'ISO 8601 duration, e.g. PT30M, P1D',
});

const Secret = (description: string) => Type.String({ minLength: 16, maxLength: 200, description });
const HttpsUrl = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 });
/** A vendor's user or chat id: what its own API takes as the recipient. */
const VendorId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.@:-]+$' });

export const ChannelInput = Type.Union([
  Type.Object(
    {
      type: Type.Literal('webhook'),
      address: HttpsUrl,
      secret: Type.Optional(Secret('HMAC key for this receiver')),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('email'), address: Type.String({ format: 'email', maxLength: 254 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('xmpp'),
      address: Type.String({ pattern: '^[^@/\\s]+@[^@/\\s]+$', maxLength: 300, description: 'a bare JID' }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: literals(['wecom', 'dingtalk', 'feishu', 'slack'] as const),
      address: VendorId,
    },
    { additionalProperties: false, description: 'an app message to this user id in the vendor’s directory' },
  ),
  Type.Object(
    { type: Type.Literal('teams'), address: HttpsUrl },
    { additionalProperties: false, description: 'a Teams workflow webhook URL' },
  ),
  Type.Object(
    { type: Type.Literal('wecom-robot'), address: VendorId },
    { additionalProperties: false, description: 'a WeCom group robot, by its key' },
  ),
  Type.Object(
    {
      type: Type.Literal('dingtalk-robot'),
      address: VendorId,
      secret: Secret('the robot’s signing secret (SEC…)'),
    },
    { additionalProperties: false, description: 'a DingTalk group robot, by its access token' },
  ),
  Type.Object(
    {
      type: Type.Literal('feishu-bot'),
      address: VendorId,
      secret: Type.Optional(Secret('the bot’s signing secret')),
    },
    { additionalProperties: false, description: 'a Feishu custom bot, by its hook token' },
  ),
]);

const Locale = literals(['zh-CN', 'en'] as const);
const QuietHoursInput = Type.Object(
  {
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
    end: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
  },
  {
    additionalProperties: false,
    description: 'in the handler’s time zone; may span midnight (22:00–07:30); reminders wait until it ends',
  },
);

const ReminderCapsInput = Type.Object(
  {
    perHour: Type.Integer({ minimum: 1, maximum: MAX_CAP }),
    perDay: Type.Integer({ minimum: 1, maximum: MAX_CAP }),
  },
  {
    additionalProperties: false,
    description:
      'most reminders and escalations this person gets across all matters; the rest are summed up in a digest',
  },
);

export const HandlerInput = Type.Object(
  {
    id: Id,
    name: Text(200),
    channels: Type.Array(ChannelInput, { maxItems: 10 }),
    supervisorId: Type.Optional(Id),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone' })),
    locale: Type.Optional(Locale),
    quietHours: Type.Optional(QuietHoursInput),
    reminderCaps: Type.Optional(ReminderCapsInput),
  },
  { additionalProperties: false },
);
export type HandlerInput = Static<typeof HandlerInput>;

export const HandlerPatch = Type.Object(
  {
    name: Type.Optional(Text(200)),
    channels: Type.Optional(Type.Array(ChannelInput, { maxItems: 10 })),
    supervisorId: Type.Optional(Type.Union([Id, Type.Null()])),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    locale: Type.Optional(Locale),
    quietHours: Type.Optional(Type.Union([QuietHoursInput, Type.Null()])),
    reminderCaps: Type.Optional(
      Type.Union([ReminderCapsInput, Type.Null()], { description: 'null: the deployment’s default caps' }),
    ),
    active: Type.Optional(
      Type.Boolean({ description: 'an inactive handler gets no new matters or transfers' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const HandlerResponse = Type.Object({
  id: Type.String(),
  name: Type.String(),
  supervisorId: Type.Union([Type.String(), Type.Null()]),
  timezone: Type.String(),
  locale: Type.String(),
  quietHours: Type.Union([Type.Object({ start: Type.String(), end: Type.String() }), Type.Null()]),
  reminderCaps: Type.Union([Type.Object({ perHour: Type.Integer(), perDay: Type.Integer() }), Type.Null()]),
  active: Type.Boolean(),
  channels: Type.Array(Type.Object({ type: Type.String(), address: Type.String() })),
  createdAt: Type.String({ format: 'date-time' }),
});

export const TokenInput = Type.Object(
  {
    subject: Id,
    role: literals(ROLES),
    expiresAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'when the token stops working' }),
    ),
  },
  { additionalProperties: false },
);

export const TokenView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  subject: Type.String(),
  role: Type.String(),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export const TokenResponse = Type.Composite([
  TokenView,
  Type.Object({ token: Type.String({ description: 'shown once' }) }),
]);
export const TokenList = Type.Object({ items: Type.Array(TokenView) });

export const CatalogCode = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });

const TimeOfDay = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'local time, HH:mm' });
const LadderTarget = Type.Union([
  Type.Literal('handler'),
  Type.Literal('supervisor'),
  Type.Object({ group: Id }, { additionalProperties: false }),
  Type.Object({ handler: Id }, { additionalProperties: false }),
]);

export const ReminderRuleInput = Type.Object(
  {
    clock: Type.Optional(
      Type.Union([Type.Literal('calendar'), Type.Literal('working')], {
        description: 'working: days are working days and hours are working hours of the calendar',
      }),
    ),
    calendar: Type.Optional(
      Type.String({ pattern: CatalogCode.pattern, description: 'a business calendar code' }),
    ),
    firstAfter: Type.Optional(IsoDuration),
    firstAt: Type.Optional(TimeOfDay),
    every: Type.Optional(IsoDuration),
    timesOfDay: Type.Optional(Type.Array(TimeOfDay, { minItems: 1, maxItems: 24 })),
    cron: Type.Optional(
      Type.String({ maxLength: 100, description: 'five fields, in the calendar’s time zone' }),
    ),
    maxCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    beforeDue: Type.Optional(Type.Array(IsoDuration, { maxItems: 20 })),
    escalateAfter: Type.Optional(IsoDuration),
    ladder: Type.Optional(
      Type.Array(
        Type.Object(
          {
            after: IsoDuration,
            to: LadderTarget,
            every: Type.Optional(IsoDuration),
            maxCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            channels: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 10 }),
            ),
          },
          { additionalProperties: false },
        ),
        { maxItems: 10 },
      ),
    ),
    urgent: Type.Optional(Type.Boolean({ description: 'may notify in quiet hours' })),
  },
  { additionalProperties: false },
);

export const MatterInputBody = Type.Object(
  {
    source: Id,
    externalId: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s:][^:]*$' }),
    title: Text(500),
    handlerId: Type.Optional(
      Type.String({ pattern: Id.pattern, description: 'the handler; give this or groupId' }),
    ),
    groupId: Type.Optional(
      Type.String({
        pattern: Id.pattern,
        description: 'offer the matter to a group, whose members claim it',
      }),
    ),
    details: Type.Optional(Type.String({ maxLength: 20000 })),
    link: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })),
    dueAt: Type.Optional(Type.String({ format: 'date-time' })),
    priority: Type.Optional(literals(PRIORITIES)),
    reminderRule: Type.Optional(ReminderRuleInput),
    reminderRuleRef: Type.Optional(
      Type.Object(
        { code: CatalogCode, version: Type.Optional(CatalogVersion) },
        {
          additionalProperties: false,
          description: 'a catalog rule template; the latest version when none is named',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type MatterInputBody = Static<typeof MatterInputBody>;

export const CreatedMatter = Type.Object({
  id: Type.String({ format: 'uuid' }),
  workflowId: Type.String(),
  status: literals(MATTER_STATUSES),
});

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const DateTime = Type.String({ format: 'date-time' });

export const MatterSummary = Type.Object({
  id: Type.String(),
  workflowId: Type.String(),
  source: Type.String(),
  externalId: Type.String(),
  title: Type.String(),
  details: Nullable(Type.String()),
  link: Nullable(Type.String()),
  dueAt: Nullable(DateTime),
  priority: Type.String(),
  reminderRule: Type.Unknown(),
  reminderRuleRef: Type.Union([Type.Object({ code: Type.String(), version: Type.Integer() }), Type.Null()]),
  handlerId: Nullable(Type.String()),
  groupId: Nullable(Type.String()),
  status: literals(MATTER_STATUSES),
  assignedAt: DateTime,
  remindersSent: Type.Integer(),
  escalated: Type.Boolean(),
  transferCount: Type.Integer(),
  exceptionCount: Type.Integer(),
  nextNoticeAt: Nullable(DateTime),
  completedAt: Nullable(DateTime),
  completedBy: Nullable(Type.String()),
  outcome: Nullable(Type.String()),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const MatterDetail = Type.Composite([
  MatterSummary,
  Type.Object({
    events: Type.Array(
      Type.Object({
        seq: Type.Integer(),
        type: Type.String(),
        actorId: Nullable(Type.String()),
        data: Type.Unknown(),
        occurredAt: DateTime,
      }),
    ),
    exceptions: Type.Array(
      Type.Object({
        id: Type.String(),
        seq: Type.Integer(),
        eventType: Type.String(),
        description: Type.String(),
        fields: Type.Unknown(),
        attachments: Type.Optional(Type.Array(Type.Unknown())),
        status: Type.Optional(Type.String()),
        filedBy: Type.String(),
        filedAt: DateTime,
      }),
    ),
    notifications: Type.Array(
      Type.Object({
        seq: Type.Integer(),
        type: Type.String(),
        recipientId: Nullable(Type.String()),
        onBehalfOf: Nullable(Type.String()),
        channelType: Nullable(Type.String()),
        status: Type.String(),
        attempts: Type.Integer(),
        lastError: Nullable(Type.String()),
        latencyMs: Nullable(
          Type.Integer({ description: 'how long the latest attempt took the channel to answer or fail' }),
        ),
        createdAt: DateTime,
        deliveredAt: Nullable(DateTime),
      }),
    ),
  }),
]);

export const MatterListQuery = Type.Object(
  {
    handlerId: Type.Optional(Id),
    groupId: Type.Optional(Id),
    status: Type.Optional(literals(MATTER_STATUSES)),
    source: Type.Optional(Id),
    dueBefore: Type.Optional(DateTime),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type MatterListQuery = Static<typeof MatterListQuery>;

export const MatterList = Type.Object({
  items: Type.Array(MatterSummary),
  nextCursor: Nullable(Type.String()),
});

export const MatterIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const CompleteBody = Type.Object(
  { outcome: Type.Optional(Text(200)), comment: Type.Optional(Text(4000)) },
  { additionalProperties: false },
);
export const TransferBody = Type.Object(
  { toHandlerId: Id, reason: Text(4000) },
  { additionalProperties: false },
);
export const Attachment = Type.Object(
  {
    name: Text(200),
    url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 }),
    mediaType: Type.Optional(Type.String({ pattern: '^[\\w.+-]+/[\\w.+-]+$', maxLength: 100 })),
    size: Type.Optional(Type.Integer({ minimum: 0, description: 'bytes' })),
  },
  {
    additionalProperties: false,
    description: 'a link to a document kept elsewhere; only the link is stored',
  },
);

export const ExceptionBody = Type.Object(
  {
    eventType: Type.String({
      pattern: CatalogCode.pattern,
      description: 'a code from the exception event type catalog, e.g. DATA_MISMATCH',
    }),
    description: Text(4000),
    fields: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 50 }),
    ),
    attachments: Type.Optional(Type.Array(Attachment, { maxItems: MAX_ATTACHMENTS })),
  },
  { additionalProperties: false },
);
export type CompleteBody = Static<typeof CompleteBody>;
export type TransferBody = Static<typeof TransferBody>;
export const RejectTransferBody = Type.Object({ reason: Text(4000) }, { additionalProperties: false });
export type ExceptionBody = Static<typeof ExceptionBody>;

export const ClaimBody = Type.Object({}, { additionalProperties: false });
export const AcknowledgeBody = Type.Object(
  { note: Type.Optional(Text(4000)) },
  { additionalProperties: false },
);
export const ReleaseBody = Type.Object(
  { reason: Type.Optional(Text(4000)) },
  { additionalProperties: false },
);

export const ActionResponse = Type.Object({
  id: Type.String(),
  status: literals(MATTER_STATUSES),
  handlerId: Nullable(Type.String()),
  seq: Type.Integer(),
  filingId: Type.Optional(Type.String({ format: 'uuid', description: 'the exception filing this created' })),
});

export const AuditQuery = Type.Object(
  {
    entityType: Type.Optional(Type.String({ maxLength: 64 })),
    entityId: Type.Optional(Type.String({ maxLength: 200 })),
    actorId: Type.Optional(Type.String({ maxLength: 200 })),
    from: Type.Optional(DateTime),
    to: Type.Optional(DateTime),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    after: Type.Optional(Cursor('chainSeq of the last row already seen')),
  },
  { additionalProperties: false },
);

const AnyObject = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]);

export const AuditList = Type.Object({
  items: Type.Array(
    Type.Object({
      chainSeq: Type.Integer(),
      actorId: Type.String(),
      actingFor: Nullable(Type.String()),
      action: Type.String(),
      entityType: Type.String(),
      entityId: Nullable(Type.String()),
      before: AnyObject,
      after: AnyObject,
      reason: Nullable(Type.String()),
      data: Type.Record(Type.String(), Type.Unknown()),
      at: DateTime,
      hash: Type.String(),
    }),
  ),
  nextAfter: Type.Union([Type.Integer(), Type.Null()]),
});

export const AuditVerification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  head: Type.Union([Type.Object({ chainSeq: Type.Integer(), hash: Type.String() }), Type.Null()]),
  firstBreak: Type.Union([
    Type.Object({
      chainSeq: Type.Integer(),
      id: Type.Integer(),
      problem: literals(['ROW_ALTERED', 'ROWS_MISSING', 'LINK_BROKEN'] as const),
    }),
    Type.Null(),
  ]),
});

const Reason = Text(4000, 'why the change is needed');
const EffectiveAt = Type.Optional(
  Type.String({
    format: 'date-time',
    description: 'when the approved change takes effect; at approval when absent',
  }),
);

export const MatterChanges = Type.Object(
  {
    title: Type.Optional(Text(500)),
    details: Type.Optional(Type.Union([Type.String({ maxLength: 20000 }), Type.Null()])),
    link: Type.Optional(
      Type.Union([Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 }), Type.Null()]),
    ),
    dueAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    priority: Type.Optional(literals(PRIORITIES)),
    reminderRule: Type.Optional(ReminderRuleInput),
    handlerId: Type.Optional(Id),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type MatterChanges = Static<typeof MatterChanges>;

export const ChangeRequestBody = Type.Union([
  Type.Object(
    { kind: Type.Literal('add'), matter: MatterInputBody, reason: Reason, effectiveAt: EffectiveAt },
    { additionalProperties: false, title: 'add a matter' },
  ),
  Type.Object(
    {
      kind: Type.Literal('modify'),
      matterId: Type.String({ format: 'uuid' }),
      changes: MatterChanges,
      reason: Reason,
      effectiveAt: EffectiveAt,
    },
    { additionalProperties: false, title: 'modify a matter (its handler too)' },
  ),
  Type.Object(
    {
      kind: Type.Literal('delete'),
      matterId: Type.String({ format: 'uuid' }),
      reason: Reason,
      effectiveAt: EffectiveAt,
    },
    { additionalProperties: false, title: 'delete (cancel) a matter' },
  ),
]);
export type ChangeRequestBody = Static<typeof ChangeRequestBody>;

export const ChangeRequestView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: literals(['add', 'modify', 'delete'] as const),
  matterId: Nullable(Type.String()),
  source: Type.String(),
  externalId: Type.String(),
  proposed: Type.Record(Type.String(), Type.Unknown()),
  current: AnyObject,
  diff: Type.Record(Type.String(), Type.Unknown(), { description: 'field → { from, to }' }),
  reason: Type.String(),
  effectiveAt: Nullable(DateTime),
  status: literals(['pending', 'approved', 'rejected', 'failed'] as const),
  makerId: Type.String(),
  reviewerId: Nullable(Type.String()),
  reviewComment: Nullable(Type.String()),
  failure: Nullable(Type.String()),
  createdAt: DateTime,
  decidedAt: Nullable(DateTime),
});

export const ChangeRequestQuery = Type.Object(
  {
    status: Type.Optional(literals(['pending', 'approved', 'rejected', 'failed'] as const)),
    matterId: Type.Optional(Type.String({ format: 'uuid' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  },
  { additionalProperties: false },
);

export const ApproveBody = Type.Object(
  { comment: Type.Optional(Text(4000)) },
  { additionalProperties: false },
);
export const RejectBody = Type.Object(
  { comment: Text(4000, 'why it is rejected') },
  { additionalProperties: false },
);

export const PendingReview = Type.Object({
  changeRequestId: Type.String({ format: 'uuid' }),
  status: Type.Literal('pending'),
});

export const RuleTemplateInput = Type.Object(
  { code: CatalogCode, rule: ReminderRuleInput, description: Type.Optional(Text(2000)) },
  { additionalProperties: false },
);

export const RuleTemplateView = Type.Object({
  code: Type.String(),
  version: Type.Integer(),
  rule: ReminderRuleInput,
  description: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: DateTime,
});

export const DelegationInput = Type.Object(
  {
    delegateId: Id,
    startsAt: DateTime,
    endsAt: DateTime,
    reason: Type.Optional(Text(4000)),
  },
  { additionalProperties: false },
);
export type DelegationInput = Static<typeof DelegationInput>;

export const DelegationView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  handlerId: Type.String(),
  delegateId: Type.String(),
  startsAt: DateTime,
  endsAt: DateTime,
  reason: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: DateTime,
  revokedAt: Nullable(DateTime),
  revokedBy: Nullable(Type.String()),
});
export const DelegationList = Type.Object({ items: Type.Array(DelegationView) });
export const DelegationParams = Type.Object({ id: Id, delegationId: Type.String({ format: 'uuid' }) });

export const GroupInput = Type.Object(
  {
    id: Id,
    name: Text(200),
    supervisorId: Type.Optional(Id),
    members: Type.Array(Id, { maxItems: 1000, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type GroupInput = Static<typeof GroupInput>;

export const GroupPatch = Type.Object(
  {
    name: Type.Optional(Text(200)),
    supervisorId: Type.Optional(Type.Union([Id, Type.Null()])),
    active: Type.Optional(Type.Boolean({ description: 'an inactive group is offered no new matters' })),
    members: Type.Optional(Type.Array(Id, { maxItems: 1000, uniqueItems: true })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type GroupPatch = Static<typeof GroupPatch>;

export const GroupView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  supervisorId: Nullable(Type.String()),
  active: Type.Boolean(),
  members: Type.Array(Type.String()),
  createdBy: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export const GroupList = Type.Object({ items: Type.Array(GroupView) });

export const PreviewInput = Type.Object(
  {
    rule: Type.Optional(ReminderRuleInput),
    reminderRuleRef: Type.Optional(
      Type.Object(
        { code: CatalogCode, version: Type.Optional(CatalogVersion) },
        { additionalProperties: false },
      ),
    ),
    assignedAt: Type.Optional(Type.String({ format: 'date-time', description: 'now when absent' })),
    dueAt: Type.Optional(Type.String({ format: 'date-time' })),
    handlerId: Type.Optional(
      Type.String({ pattern: Id.pattern, description: 'use this handler’s quiet hours' }),
    ),
    quietHours: Type.Optional(
      Type.Object(
        {
          start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
          end: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
          timeZone: Type.String({ minLength: 1, maxLength: 64 }),
        },
        { additionalProperties: false },
      ),
    ),
    count: Type.Integer({ minimum: 1, maximum: 200, default: 20 }),
  },
  { additionalProperties: false },
);
export type PreviewInput = Static<typeof PreviewInput>;

export const PlannedNoticeView = Type.Object({
  at: DateTime,
  slot: Type.String({ format: 'date-time', description: 'the rule’s own time, before quiet hours moved it' }),
  kind: literals(['reminder', 'beforeDue', 'escalation'] as const),
  index: Type.Integer(),
  skipped: Type.Integer(),
  level: Type.Optional(Type.Integer()),
  to: Type.Optional(Type.Unknown()),
  channels: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
});

export const PreviewView = Type.Object({
  timeZone: Type.String(),
  quietHours: Type.Union([
    Type.Object({ start: Type.String(), end: Type.String(), timeZone: Type.String() }),
    Type.Null(),
  ]),
  items: Type.Array(PlannedNoticeView),
});
