/** One input of an exception type's form, read from its fields schema. */
export interface FormField {
  /** The property name in `fields`; the input is named `fields.<name>`. */
  name: string;
  label: string;
  description: string | null;
  kind: 'text' | 'textarea' | 'number' | 'integer' | 'boolean' | 'enum';
  /** For text: the HTML input type that fits the schema's format. */
  inputType: 'text' | 'date' | 'email' | 'url';
  required: boolean;
  options: string[];
  minimum: number | null;
  maximum: number | null;
  maxLength: number | null;
}

const INPUT_TYPES: Record<string, FormField['inputType']> = { date: 'date', email: 'email', uri: 'url' };
/** Longer strings than this get a text area. */
const LONG_TEXT = 200;

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' ? v : null);

function kindOf(p: Schema): FormField['kind'] | null {
  if (Array.isArray(p.enum) && p.enum.every((e) => typeof e === 'string' || typeof e === 'number'))
    return 'enum';
  const type = Array.isArray(p.type) ? p.type.find((t) => t !== 'null') : p.type;
  if (type === 'string') {
    const short = typeof p.format === 'string' || (num(p.maxLength) ?? Number.POSITIVE_INFINITY) <= LONG_TEXT;
    return short ? 'text' : 'textarea';
  }
  if (type === 'number' || type === 'integer' || type === 'boolean') return type;
  return null;
}

/**
 * The inputs for an exception type's top-level properties, in the schema's order: strings, numbers,
 * integers, booleans and enums. Nested objects and arrays have no input; the schema's own check still
 * applies to them when the filing is sent.
 */
export function formFields(schema: Schema): FormField[] {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  return Object.entries(properties).flatMap(([name, p]): FormField[] => {
    if (!isObject(p)) return [];
    const kind = kindOf(p);
    if (!kind) return [];
    return [
      {
        name,
        label: typeof p.title === 'string' && p.title.trim() ? p.title : name,
        description: typeof p.description === 'string' ? p.description : null,
        kind,
        inputType: (typeof p.format === 'string' && INPUT_TYPES[p.format]) || 'text',
        required: required.has(name),
        options: kind === 'enum' ? (p.enum as (string | number)[]).map(String) : [],
        minimum: num(p.minimum),
        maximum: num(p.maximum),
        maxLength: num(p.maxLength),
      },
    ];
  });
}

/**
 * The form's `fields.<name>` values typed as the schema says; an empty input is left out, so a required
 * field left empty is refused by the schema with its own message. A value that does not parse is passed
 * on as written, for the same reason.
 */
export function fieldValues(schema: Schema, form: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const field of formFields(schema)) {
    const raw = form[`fields.${field.name}`];
    if (typeof raw !== 'string' || raw.trim() === '') continue;
    const text = raw.trim();
    const p = properties[field.name] as Schema;
    if (field.kind === 'number' || field.kind === 'integer') {
      const n = Number(text);
      values[field.name] = Number.isFinite(n) ? n : text;
    } else if (field.kind === 'boolean') {
      values[field.name] = text === 'true' ? true : text === 'false' ? false : text;
    } else if (field.kind === 'enum') {
      // An enum of numbers gets the number back.
      const match = (p.enum as unknown[]).find((e) => String(e) === text);
      values[field.name] = match ?? text;
    } else {
      values[field.name] = raw;
    }
  }
  return values;
}
