import { Type } from '@sinclair/typebox';
import { CALLBACK_STATUSES } from '../db/callback-outbox.js';
import { DateTime, literals, Nullable } from './schemas.js';

const SourceCode = Type.String({ maxLength: 128 });

export const CallbackListParams = Type.Object({ code: SourceCode });
export const CallbackParams = Type.Object({ code: SourceCode, id: Type.String({ format: 'uuid' }) });

export const CallbackListQuery = Type.Object(
  {
    status: Type.Optional(literals(CALLBACK_STATUSES)),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  },
  { additionalProperties: false },
);

const CallbackAttempt = Type.Object({
  attempt: Type.Integer(),
  startedAt: DateTime,
  durationMs: Type.Integer(),
  httpStatus: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
});

export const CallbackView = Type.Object({
  id: Type.String(),
  source: Type.String(),
  matterId: Type.String(),
  seq: Type.Integer(),
  eventType: Type.String(),
  status: literals(CALLBACK_STATUSES),
  attempts: Type.Integer(),
  createdAt: DateTime,
  nextAttemptAt: Nullable(DateTime),
  deliveredAt: Nullable(DateTime),
  failedAt: Nullable(DateTime),
  lastError: Nullable(Type.String()),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'the exact JSON the source is sent' }),
  attemptLog: Type.Array(CallbackAttempt),
});

export const CallbackList = Type.Object({ items: Type.Array(CallbackView) });
