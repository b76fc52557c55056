import { type Static, Type } from '@sinclair/typebox';
import { CatalogCode, DateTime, Id, Nullable } from './schemas.js';

const Range = {
  from: Type.Optional(
    Type.String({ format: 'date-time', description: 'start, inclusive; default 30 days before `to`' }),
  ),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'end, exclusive; default now' })),
  format: Type.Optional(
    Type.Unsafe<'json' | 'csv'>({
      type: 'string',
      enum: ['json', 'csv'],
      description: 'csv answers text/csv, as does `Accept: text/csv`',
    }),
  ),
};

const FilingFilter = {
  eventType: Type.Optional(
    Type.String({ pattern: CatalogCode.pattern, description: 'an exception type code' }),
  ),
  source: Type.Optional(Id),
  handlerId: Type.Optional(Type.String({ ...Id, description: 'the handler who filed' })),
};

export const FilingReportQuery = Type.Object(
  {
    ...Range,
    ...FilingFilter,
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'JSON page size' }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type FilingReportQuery = Static<typeof FilingReportQuery>;

export const DailyFilingQuery = Type.Object(
  {
    ...Range,
    ...FilingFilter,
    timeZone: Type.String({
      pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$',
      maxLength: 64,
      default: 'UTC',
      description: 'IANA time zone that decides where a day starts, e.g. Asia/Shanghai',
    }),
  },
  { additionalProperties: false },
);

export const MatterReportQuery = Type.Object(
  {
    ...Range,
    source: Type.Optional(Id),
    handlerId: Type.Optional(Type.String({ ...Id, description: 'the matter’s current handler' })),
  },
  { additionalProperties: false },
);

export const FilingReport = Type.Object({
  from: DateTime,
  to: DateTime,
  items: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      matterId: Type.String({ format: 'uuid' }),
      seq: Type.Integer(),
      eventType: Type.String(),
      description: Type.String(),
      fields: Type.Record(Type.String(), Type.Unknown()),
      filedBy: Type.String(),
      filedAt: DateTime,
      source: Type.String(),
      externalId: Type.String(),
      title: Type.String(),
    }),
  ),
  nextCursor: Nullable(Type.String()),
});

export const DailyFilingReport = Type.Object({
  from: DateTime,
  to: DateTime,
  timeZone: Type.String(),
  items: Type.Array(
    Type.Object({
      day: Type.String({ format: 'date', description: 'the day in `timeZone`' }),
      eventType: Type.String(),
      count: Type.Integer(),
    }),
  ),
});

const Seconds = Nullable(Type.Number({ description: 'seconds; null when nothing completed' }));
export const SlaFigures = Type.Object({
  total: Type.Integer({ description: 'matters created in the range' }),
  open: Type.Integer(),
  overdue: Type.Integer({ description: 'open and past due at `asOf`' }),
  completed: Type.Integer(),
  cancelled: Type.Integer(),
  medianSecondsToComplete: Seconds,
  p90SecondsToComplete: Seconds,
  avgRemindersBeforeCompletion: Nullable(Type.Number()),
  transfers: Type.Integer({ description: 'transfers of these matters, summed' }),
  avgTransfers: Nullable(Type.Number()),
});

export const MatterReport = Type.Object({
  from: DateTime,
  to: DateTime,
  asOf: DateTime,
  overall: SlaFigures,
  bySource: Type.Array(Type.Composite([Type.Object({ source: Type.String() }), SlaFigures])),
});
