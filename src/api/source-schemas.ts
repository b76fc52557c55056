import { type Static, Type } from '@sinclair/typebox';
import { MATTER_STATUSES } from '../domain/matter.js';
import { Cursor, DateTime, Id, literals, MatterInputBody, Nullable, Text } from './schemas.js';

export const MAX_BULK_ITEMS = 1000;
export const MAX_RECONCILE_IDS = 100_000;

const ExternalId = MatterInputBody.properties.externalId;
const Version = Type.Integer({
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'the source’s version of the matter; only a higher one than held changes it',
});

export const SourceParams = Type.Object({ source: Id });
export const SourceMatterParams = Type.Object({ source: Id, externalId: ExternalId });

const { source: _source, externalId: _externalId, ...definition } = MatterInputBody.properties;

/** A matter as its source states it at one version: the body of POST /v1/matters, less the ids in the URL. */
export const SourceMatterBody = Type.Object(
  { version: Version, ...definition },
  { additionalProperties: false },
);
export type SourceMatterBody = Static<typeof SourceMatterBody>;

/** One item of a bulk push: the PUT body with its externalId. */
export const SourceMatterItem = Type.Object(
  { externalId: ExternalId, version: Version, ...definition },
  { additionalProperties: false },
);
export type SourceMatterItem = Static<typeof SourceMatterItem>;

export const CancelQuery = Type.Object(
  { version: Version, reason: Type.Optional(Text(4000)) },
  { additionalProperties: false },
);

export const WRITE_STATUSES = [
  'created',
  'unchanged',
  'modified',
  'cancelled',
  'pending_review',
  'stale',
  'error',
] as const;
export type WriteStatus = (typeof WRITE_STATUSES)[number];

const outcomeFields = {
  externalId: Type.String(),
  version: Type.Integer(),
  matterId: Type.Optional(Type.String({ format: 'uuid' })),
  matterStatus: Type.Optional(literals(MATTER_STATUSES)),
  changeRequestId: Type.Optional(
    Type.String({ format: 'uuid', description: 'the change awaiting a reviewer' }),
  ),
  heldVersion: Type.Optional(
    Type.Integer({ description: 'the version matterflow holds, when it is not this one' }),
  ),
};

export const WriteOutcome = Type.Object({
  status: literals(['created', 'unchanged', 'modified', 'cancelled', 'pending_review'] as const),
  ...outcomeFields,
});

export const BulkBody = Type.Object(
  {
    items: Type.Array(
      Type.Unknown({
        description: 'a SourceMatterItem (the PUT body with externalId); each is checked on its own',
      }),
      { minItems: 1, maxItems: MAX_BULK_ITEMS },
    ),
  },
  { additionalProperties: false },
);

export const ItemError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'e.g. items[17].dueAt' })),
});

export const BulkResult = Type.Object({
  results: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: literals(WRITE_STATUSES),
      ...outcomeFields,
      externalId: Nullable(Type.String()),
      version: Nullable(Type.Integer()),
      error: Type.Optional(ItemError),
    }),
  ),
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'items per status' }),
});

export const ReconcileBody = Type.Object(
  {
    openExternalIds: Type.Array(ExternalId, {
      maxItems: MAX_RECONCILE_IDS,
      description: 'every matter the source has open now',
    }),
  },
  { additionalProperties: false },
);

export const ReconcileResult = Type.Object({
  missingHere: Type.Array(Type.String(), { description: 'open at the source, unknown here' }),
  pendingReview: Type.Array(Type.Object({ externalId: Type.String(), changeRequestId: Type.String() }), {
    description: 'open at the source, its creation awaiting review here',
  }),
  closedHere: Type.Array(
    Type.Object({
      externalId: Type.String(),
      matterId: Type.String(),
      status: literals(MATTER_STATUSES),
      completedAt: Nullable(DateTime),
      completedBy: Nullable(Type.String()),
      outcome: Nullable(Type.String()),
    }),
    { description: 'open at the source, finished here' },
  ),
  openHereOnly: Type.Array(Type.Object({ externalId: Type.String(), matterId: Type.String() }), {
    description: 'open here, not in the source’s list',
  }),
});

export const StaleQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    after: Type.Optional(Cursor('id of the last row already seen')),
  },
  { additionalProperties: false },
);

export const StaleList = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.Integer(),
      externalId: Type.String(),
      kind: literals(['upsert', 'cancel'] as const),
      versionReceived: Type.Integer(),
      versionHeld: Type.Integer(),
      receivedBy: Type.String(),
      receivedAt: DateTime,
    }),
  ),
  nextAfter: Nullable(Type.Integer()),
});
