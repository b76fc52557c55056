import { describe, expect, it } from 'vitest';
import { validateFilingFields } from '../../src/domain/exception-type.js';
import { fieldValues, formFields } from '../../src/web/forms.js';

const schema = {
  type: 'object',
  properties: {
    amount: { type: 'number', title: 'Amount', minimum: 0 },
    count: { type: 'integer', maximum: 10 },
    account: { type: 'string', maxLength: 40, description: 'the account number' },
    story: { type: 'string' },
    when: { type: 'string', format: 'date' },
    channel: { enum: ['counter', 'online'] },
    level: { enum: [1, 2, 3] },
    reported: { type: 'boolean' },
    nested: { type: 'object', properties: {} },
    list: { type: 'array' },
    maybe: { type: ['string', 'null'], maxLength: 10 },
  },
  required: ['amount', 'channel'],
};

describe('exception fields as a form', () => {
  it('when a type has a fields schema, then each top-level scalar property becomes one input, in order, required ones marked', () => {
    const fields = formFields(schema);
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['amount', 'number', true],
      ['count', 'integer', false],
      ['account', 'text', false],
      ['story', 'textarea', false],
      ['when', 'text', false],
      ['channel', 'enum', true],
      ['level', 'enum', false],
      ['reported', 'boolean', false],
      ['maybe', 'text', false],
    ]);
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    expect(byName.amount).toMatchObject({ label: 'Amount', minimum: 0, maximum: null });
    expect(byName.count).toMatchObject({ label: 'count', maximum: 10 });
    expect(byName.account).toMatchObject({ maxLength: 40, description: 'the account number' });
    expect(byName.when!.inputType).toBe('date');
    expect(byName.level!.options).toEqual(['1', '2', '3']);
  });

  it('when a schema has no properties, then there are no inputs', () => {
    expect(formFields({ type: 'object' })).toEqual([]);
  });

  it('when the form is sent, then values are typed as the schema says and empty inputs are left out', () => {
    const values = fieldValues(schema, {
      'fields.amount': '12.5',
      'fields.count': '3',
      'fields.account': ' 6222 ',
      'fields.story': '',
      'fields.channel': 'online',
      'fields.level': '2',
      'fields.reported': 'false',
      'fields.nested': 'ignored',
      other: 'ignored',
    });
    expect(values).toEqual({
      amount: 12.5,
      count: 3,
      account: ' 6222 ',
      channel: 'online',
      level: 2,
      reported: false,
    });
    expect(validateFilingFields(schema, values)).toEqual([]);
  });

  it('when a value does not parse, then it is passed on as written for the schema to refuse by name', () => {
    const values = fieldValues(schema, { 'fields.amount': 'lots', 'fields.channel': 'counter' });
    expect(values.amount).toBe('lots');
    expect(validateFilingFields(schema, values).map((p) => p.field)).toEqual(['body.fields.amount']);
  });
});
