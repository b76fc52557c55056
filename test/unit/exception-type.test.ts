import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkFieldsSchema,
  FieldsSchemaError,
  MAX_FIELDS_SCHEMA_BYTES,
  validateFilingFields,
} from '../../src/domain/exception-type.js';

function refusal(schema: Record<string, unknown>): FieldsSchemaError {
  try {
    checkFieldsSchema(schema);
  } catch (err) {
    expect(err).toBeInstanceOf(FieldsSchemaError);
    return err as FieldsSchemaError;
  }
  throw new Error('expected a FieldsSchemaError, but the schema was accepted');
}

const payment = {
  type: 'object',
  required: ['amount', 'payee'],
  properties: {
    amount: { type: 'number', minimum: 0 },
    currency: { type: 'string', enum: ['CNY', 'USD'] },
    payee: {
      type: 'object',
      required: ['account'],
      properties: { account: { type: 'string', pattern: '^[0-9]{6,}$' }, name: { type: 'string' } },
    },
  },
  additionalProperties: false,
};

describe('checkFieldsSchema', () => {
  it.each([
    ['the permissive default', { type: 'object' }],
    ['a schema with required, nested and enum properties', payment],
    [
      'annotations, known formats and references within itself',
      {
        type: 'object',
        title: 'Overdue',
        $comment: 'shown to handlers',
        definitions: { day: { type: 'string', format: 'date' } },
        properties: { since: { $ref: '#/definitions/day', description: 'first day overdue' } },
      },
    ],
  ])('accepts %s', (_, schema) => {
    expect(() => checkFieldsSchema(schema)).not.toThrow();
  });

  it.each([
    ['a schema of another type', { type: 'array' }, 'must have type "object"'],
    ['a schema without a type', { properties: {} }, 'must have type "object"'],
    [
      'a type Ajv does not know',
      { type: 'object', properties: { a: { type: 'money' } } },
      'does not compile',
    ],
    ['a misspelt keyword', { type: 'object', requried: ['a'] }, 'unknown keyword: "requried"'],
    [
      'a format Ajv does not know',
      { type: 'object', properties: { a: { format: 'iban' } } },
      'unknown format',
    ],
    [
      'a reference to nowhere inside it',
      { type: 'object', properties: { a: { $ref: '#/nope' } } },
      "can't resolve",
    ],
  ])('refuses %s, giving the reason', (_, schema, reason) => {
    const err = refusal(schema);
    expect(err.code).toBe('INVALID_FIELDS_SCHEMA');
    expect(err.message).toContain(reason);
  });

  it.each([
    'https://schemas.example.com/payment.json',
    'http://10.0.0.1/x.json#/definitions/a',
    'other.json',
  ])('refuses a reference to %s, naming it', (ref) => {
    const err = refusal({ type: 'object', properties: { a: { items: [{ $ref: ref }] } } });
    expect(err.message).toContain(`not to "${ref}"`);
  });

  it('refuses a schema larger than 32 KiB, saying how large it is', () => {
    const schema = { type: 'object', description: 'x'.repeat(MAX_FIELDS_SCHEMA_BYTES) };
    expect(refusal(schema).message).toMatch(/is \d+ bytes; at most 32768/);
  });

  it('counts the size in bytes, so multi-byte text cannot slip past the cap', () => {
    const chinese = '备'.repeat(Math.ceil(MAX_FIELDS_SCHEMA_BYTES / 3) + 1);
    expect(chinese.length).toBeLessThan(MAX_FIELDS_SCHEMA_BYTES);
    expect(refusal({ type: 'object', description: chinese }).message).toContain('bytes');
  });
});

describe('validateFilingFields', () => {
  it('finds no problem in fields that fit the schema', () => {
    expect(validateFilingFields(payment, { amount: 10, payee: { account: '123456' } })).toEqual([]);
  });

  it('names a missing required field by its own path, not the object that lacks it', () => {
    expect(validateFilingFields(payment, { payee: { account: '123456' } })).toEqual([
      { field: 'body.fields.amount', message: "must have required property 'amount'" },
    ]);
  });

  it('names a field of the wrong type', () => {
    expect(validateFilingFields(payment, { amount: '10', payee: { account: '123456' } })).toEqual([
      { field: 'body.fields.amount', message: 'must be number' },
    ]);
  });

  it('names nested fields by their full path', () => {
    const problems = validateFilingFields(payment, { amount: 1, payee: { account: '12' } });
    expect(problems).toEqual([
      { field: 'body.fields.payee.account', message: expect.stringContaining('pattern') },
    ]);
    expect(validateFilingFields(payment, { amount: 1, payee: {} })).toEqual([
      { field: 'body.fields.payee.account', message: "must have required property 'account'" },
    ]);
  });

  it('names a field the schema does not allow', () => {
    expect(validateFilingFields(payment, { amount: 1, payee: { account: '123456' }, note: 'x' })).toEqual([
      { field: 'body.fields.note', message: 'must NOT have additional properties' },
    ]);
  });

  it('reports every problem at once, not only the first', () => {
    const fields = validateFilingFields(payment, { currency: 'EUR', payee: { account: 1 } }).map(
      (p) => p.field,
    );
    expect(fields).toEqual(
      expect.arrayContaining(['body.fields.amount', 'body.fields.currency', 'body.fields.payee.account']),
    );
  });

  it('names a field whose name holds a slash as it was sent', () => {
    const schema = { type: 'object', properties: { 'in/out': { type: 'boolean' } } };
    expect(validateFilingFields(schema, { 'in/out': 'yes' })).toEqual([
      { field: 'body.fields.in/out', message: 'must be boolean' },
    ]);
  });

  it('does not fill in defaults or change the fields it checks', () => {
    const schema = { type: 'object', properties: { n: { type: 'integer', default: 3 } } };
    const fields = { m: '1' };
    expect(validateFilingFields(schema, fields)).toEqual([]);
    expect(fields).toEqual({ m: '1' });
  });

  const FIELD_TYPES = {
    string: fc.string(),
    integer: fc.integer(),
    number: fc.double({ noNaN: true, noDefaultInfinity: true }),
    boolean: fc.boolean(),
  };
  type FieldType = keyof typeof FIELD_TYPES;
  /** A flat schema whose every property is required, with fields that satisfy it. */
  const filing = fc
    .uniqueArray(
      fc.record({
        name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/),
        type: fc.constantFrom(...(Object.keys(FIELD_TYPES) as FieldType[])),
      }),
      { minLength: 1, maxLength: 8, selector: (p) => p.name },
    )
    .chain((props) =>
      fc.tuple(...props.map((p) => FIELD_TYPES[p.type])).map((values) => ({
        schema: {
          type: 'object',
          required: props.map((p) => p.name),
          properties: Object.fromEntries(props.map((p) => [p.name, { type: p.type }])),
        },
        fields: Object.fromEntries(props.map((p, i) => [p.name, values[i]])) as Record<string, unknown>,
      })),
    );

  it('accepts any fields generated to satisfy a flat schema (property)', () => {
    fc.assert(
      fc.property(filing, ({ schema, fields }) => {
        checkFieldsSchema(schema);
        expect(validateFilingFields(schema, fields)).toEqual([]);
      }),
    );
  });

  it('always names the required key that was removed, and only it (property)', () => {
    fc.assert(
      fc.property(
        filing.chain((f) =>
          fc.record({ f: fc.constant(f), drop: fc.constantFrom(...Object.keys(f.fields)) }),
        ),
        ({ f, drop }) => {
          const { [drop]: _, ...rest } = f.fields;
          expect(validateFilingFields(f.schema, rest).map((p) => p.field)).toEqual([`body.fields.${drop}`]);
        },
      ),
    );
  });
});
