import { Type } from '@sinclair/typebox';
import { ON_FILING, SEVERITIES } from '../domain/exception-type.js';
import { CatalogCode, DateTime, Id, literals, Nullable, Text } from './schemas.js';

const Versioned = {
  version: Type.Integer(),
  active: Type.Boolean(),
  description: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: DateTime,
};
const Active = (what: string) => Type.Optional(Type.Boolean({ description: `${what}; true when absent` }));

const Names = Type.Object({ 'zh-CN': Text(200), en: Text(200) }, { additionalProperties: false });
const Subscriber = Type.Union(
  [
    Type.Object(
      { kind: literals(['handler', 'group'] as const), id: Id },
      { additionalProperties: false, description: 'a handler or a handler group, told when one is filed' },
    ),
    Type.Object(
      {
        kind: Type.Literal('webhook'),
        url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 }),
      },
      {
        additionalProperties: false,
        description: 'an external system, sent a POST signed with the deployment’s webhook secret',
      },
    ),
  ],
  { description: 'told at once, with the filing and the matter, when one of this type is filed' },
);
const OnFiling = literals(ON_FILING);
const FieldsSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: 'JSON Schema (draft-07) of a filing\'s `fields`; type "object", references only within itself',
});

export const ExceptionTypeInput = Type.Object(
  {
    code: CatalogCode,
    names: Names,
    severity: literals(SEVERITIES),
    fieldsSchema: FieldsSchema,
    onFiling: Type.Optional({
      ...OnFiling,
      description:
        'what filing does to the matter: leave it open (the default), pause its reminders while the filing is open, or return it to its source',
    }),
    subscribers: Type.Optional(Type.Array(Subscriber, { maxItems: 50, uniqueItems: true })),
    active: Active('false stops new filings of this type'),
    description: Type.Optional(Text(2000)),
  },
  { additionalProperties: false },
);

export const ExceptionTypeView = Type.Object({
  code: Type.String(),
  names: Names,
  severity: literals(SEVERITIES),
  fieldsSchema: FieldsSchema,
  onFiling: OnFiling,
  subscribers: Type.Array(Subscriber),
  ...Versioned,
});

export const SourceSystemInput = Type.Object(
  {
    code: Id,
    name: Text(200),
    trusted: Type.Optional(
      Type.Boolean({ description: 'its own matters start without review; false when absent' }),
    ),
    callbackUrl: Type.Optional(
      Nullable(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })),
    ),
    rateLimitPerMinute: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100_000 }))),
    callbackSecret: Type.Optional(
      Type.String({
        minLength: 32,
        maxLength: 256,
        writeOnly: true,
        description:
          'HMAC key of the callbacks; never shown again. Absent: the previous version’s is kept, or one is generated for a callback URL',
      }),
    ),
    active: Active('false retires the source'),
    description: Type.Optional(Text(2000)),
  },
  { additionalProperties: false },
);

export const SourceSystemView = Type.Object({
  code: Type.String(),
  name: Type.String(),
  trusted: Type.Boolean(),
  callbackUrl: Nullable(Type.String()),
  rateLimitPerMinute: Nullable(Type.Integer()),
  hasCallbackSecret: Type.Boolean(),
  ...Versioned,
});

/** The saved version; a generated callback secret is shown here, once. */
export const SourceSystemSaved = Type.Object({
  ...SourceSystemView.properties,
  callbackSecret: Type.Optional(
    Type.String({ description: 'generated for this source: keep it, it is not shown again' }),
  ),
});

export const ExceptionTypeVersions = Type.Object({ items: Type.Array(ExceptionTypeView) });
export const SourceSystemVersions = Type.Object({ items: Type.Array(SourceSystemView) });

const TimeOfDay = Type.String({ pattern: '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$', description: 'HH:mm' });
const LocalDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD, local' });
const CalendarFields = {
  name: Text(200),
  timeZone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone' }),
  workingDays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
    maxItems: 7,
    uniqueItems: true,
    description: 'ISO weekdays, 1 = Monday',
  }),
  workingHours: Type.Array(
    Type.Object({ start: TimeOfDay, end: TimeOfDay }, { additionalProperties: false }),
    {
      maxItems: 6,
    },
  ),
  holidays: Type.Array(LocalDate, { maxItems: 1000, description: 'days off even on a working weekday' }),
  workdays: Type.Array(LocalDate, {
    maxItems: 1000,
    description: 'days on even on a weekend (调休: adjusted working days)',
  }),
};

export const CalendarInput = Type.Object(
  {
    code: CatalogCode,
    ...CalendarFields,
    holidays: Type.Optional(CalendarFields.holidays),
    workdays: Type.Optional(CalendarFields.workdays),
    active: Active('false retires the calendar'),
    description: Type.Optional(Text(2000)),
  },
  { additionalProperties: false },
);

export const CalendarView = Type.Object({ code: Type.String(), ...CalendarFields, ...Versioned });
export const CalendarVersions = Type.Object({ items: Type.Array(CalendarView) });
