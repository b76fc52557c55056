import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { addError, type FieldError, type FieldErrors } from './console-matter-form.js';

// The API's body options (src/api/validation.ts): checked as sent, nothing coerced or dropped.
// `verbose` hands each error the value it is about, so an empty control reads "fill this in" only.
const ajv = new Ajv({
  removeAdditional: false,
  useDefaults: true,
  allErrors: true,
  strict: false,
  verbose: true,
});
addFormats.default(ajv);

const KEYS: Record<string, string> = {
  required: 'console.error.required',
  minLength: 'console.error.required',
  maxLength: 'console.error.tooLong',
};

const messageOf = (e: ErrorObject): FieldError => ({
  key: e.data === '' ? 'console.error.required' : (KEYS[e.keyword] ?? 'console.error.invalid'),
});

/**
 * A checker for one API body schema whose failures land next to the form's controls: `fieldOf` maps a
 * property path (`title`, `channels.0.address`) to the control that holds it.
 */
export function formChecker(
  schema: TSchema,
  fieldOf: (path: string) => string,
): (value: unknown) => FieldErrors | null {
  const check = ajv.compile(schema);
  return (value) => {
    if (check(value)) return null;
    const errors: FieldErrors = {};
    for (const e of check.errors ?? []) {
      const missing =
        e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '';
      const field = fieldOf(`${e.instancePath}${missing}`.split('/').filter(Boolean).join('.'));
      const message = messageOf(e);
      if (!errors[field]?.some((m) => JSON.stringify(m) === JSON.stringify(message))) {
        addError(errors, field, message);
      }
    }
    return errors;
  };
}
