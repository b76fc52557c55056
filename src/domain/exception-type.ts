import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SUBSCRIBER_KINDS = ['handler', 'group', 'webhook'] as const;
/** A person, a group's members, or an external system told by a signed POST to its URL. */
export type Subscriber = { kind: 'handler' | 'group'; id: string } | { kind: 'webhook'; url: string };

/** What filing a type does to its matter besides telling the subscribers. */
export const ON_FILING = ['leave_open', 'pause_reminders', 'return_to_source'] as const;
export type OnFiling = (typeof ON_FILING)[number];

export const FILING_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export type FilingStatus = (typeof FILING_STATUSES)[number];

/** A document kept elsewhere that the filing points to; matterflow stores the link, never the file. */
export interface Attachment {
  name: string;
  url: string;
  mediaType?: string;
  size?: number;
}
export const MAX_ATTACHMENTS = 20;

export interface ExceptionTypeNames {
  'zh-CN': string;
  en: string;
}

export const MAX_FIELDS_SCHEMA_BYTES = 32 * 1024;

export class FieldsSchemaError extends Error {
  readonly code = 'INVALID_FIELDS_SCHEMA';
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** Filings are frequent and a type's schema never changes once saved, so each is compiled once. */
const compiled = new Map<string, ValidateFunction>();
// Bounded, so a long run of saved versions cannot grow it without end; the oldest goes first.
const MAX_COMPILED = 500;

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const known = compiled.get(key);
  if (known) return known;
  // One Ajv per schema: two types (or versions) may carry the same `$id` without colliding.
  // strictSchema refuses an unknown keyword or format, which would otherwise check nothing.
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    strictSchema: true,
    coerceTypes: false,
    useDefaults: false,
    logger: false,
  });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, validate);
  return validate;
}

/** The first `$ref` that leaves the schema; Ajv would fetch nothing, and no filing should depend on a URL. */
function remoteRef(schema: unknown): string | null {
  // A loop, not recursion: a deeply nested schema must not overflow the stack.
  const pending = [schema];
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) return value;
      pending.push(value);
    }
  }
  return null;
}

/** Refuses, with the reason, a schema that filings could not be checked against. */
export function checkFieldsSchema(schema: Record<string, unknown>): void {
  const bytes = new TextEncoder().encode(JSON.stringify(schema)).length;
  if (bytes > MAX_FIELDS_SCHEMA_BYTES) {
    throw new FieldsSchemaError(
      `fieldsSchema is ${bytes} bytes; at most ${MAX_FIELDS_SCHEMA_BYTES} are allowed`,
    );
  }
  if (schema.type !== 'object') throw new FieldsSchemaError('fieldsSchema must have type "object"');
  const ref = remoteRef(schema);
  if (ref !== null) {
    throw new FieldsSchemaError(`fieldsSchema may only refer within itself ("#..."), not to "${ref}"`);
  }
  try {
    compile(schema);
  } catch (err) {
    throw new FieldsSchemaError(`fieldsSchema does not compile: ${(err as Error).message}`);
  }
}

const segment = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

function fieldOf(e: ErrorObject): string {
  const path = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map(segment);
  // Name the property that is missing or not allowed, not the object that lacks or has it.
  const named = e.params.missingProperty ?? e.params.additionalProperty;
  if (typeof named === 'string') path.push(named);
  return ['body.fields', ...path].join('.');
}

/** Every problem with a filing's `fields`, each named by its path in the request body. */
export function validateFilingFields(fieldsSchema: Record<string, unknown>, fields: unknown): FieldProblem[] {
  const validate = compile(fieldsSchema);
  if (validate(fields)) return [];
  return (validate.errors ?? []).map((e) => ({ field: fieldOf(e), message: e.message ?? e.keyword }));
}
