import { describe, expect, it } from 'vitest';
import { MatterChanges, MatterInputBody } from '../../src/api/schemas.js';
import {
  dueInputOf,
  formFieldOf,
  type MatterForm,
  matterChanges,
  newMatterInput,
  readMatterForm,
} from '../../src/web/console-matter-form.js';
import { formChecker } from '../../src/web/console-validate.js';

const form = (over: Partial<MatterForm> = {}): MatterForm => ({
  ...readMatterForm({}),
  source: 'loans',
  externalId: 'L-1',
  title: 'Check the loan file',
  handlerId: 'h-1',
  priority: 'normal',
  timeZone: 'Asia/Shanghai',
  ...over,
});

describe('console matter form', () => {
  it('reads every control as trimmed text and ignores what is not a control', () => {
    const read = readMatterForm({ title: '  T  ', handlerId: ['a', 'b'], extra: 'x' });
    expect(read.title).toBe('T');
    expect(read.handlerId).toBe('');
    expect(read).not.toHaveProperty('extra');
  });

  it('when a due time is given, then it is read in the chosen time zone and sent in UTC', () => {
    expect(newMatterInput(form({ due: '2030-03-01T09:30' }))).toMatchObject({
      errors: {},
      input: { dueAt: '2030-03-01T01:30:00Z' },
    });
  });

  it('when a template is chosen, then the matter names it with its version', () => {
    expect(newMatterInput(form({ ruleTemplate: 'daily.v2@3' }))).toMatchObject({
      input: { reminderRuleRef: { code: 'daily.v2', version: 3 } },
    });
  });

  it('when both a template and inline JSON are given, or the JSON is not an object, then the rule is refused', () => {
    expect(newMatterInput(form({ ruleTemplate: 'daily@1', ruleJson: '{}' })).errors).toEqual({
      ruleJson: [{ key: 'console.error.ruleBoth' }],
    });
    expect(newMatterInput(form({ ruleJson: '[1]' })).errors).toEqual({
      ruleJson: [{ key: 'console.error.ruleJson' }],
    });
  });

  it('when neither or both of handler and group are chosen, then the assignee is refused', () => {
    expect(newMatterInput(form({ handlerId: '' })).errors).toHaveProperty('handlerId');
    expect(newMatterInput(form({ groupId: 'g-1' })).errors).toHaveProperty('groupId');
  });

  it('when the title is empty and the link is no URL, then the API schema places both errors', () => {
    const result = newMatterInput(form({ title: '', link: 'not a url' }));
    expect(result.errors, 'the form itself reads fine').toEqual({});
    expect(formChecker(MatterInputBody, formFieldOf)(result.input)).toEqual({
      title: [{ key: 'console.error.required' }],
      link: [{ key: 'console.error.invalid' }],
    });
  });

  it('when an edit empties optional fields, then they are proposed as cleared, and a chosen template replaces the current rule inline', () => {
    const result = matterChanges(
      form({ details: '', link: '', due: '', ruleTemplate: 'daily@2', ruleJson: '{"every":"PT1H"}' }),
      (code, v) => (code === 'daily' && v === 2 ? { every: 'P1D' } : undefined),
    );
    expect(result).toEqual({
      errors: {},
      changes: {
        title: 'Check the loan file',
        details: null,
        link: null,
        dueAt: null,
        priority: 'normal',
        handlerId: 'h-1',
        reminderRule: { every: 'P1D' },
      },
    });
    expect(formChecker(MatterChanges, formFieldOf)(result.changes)).toBeNull();
  });

  it('shows a stored due time as the wall time of the zone, seconds only when there are some', () => {
    expect(dueInputOf('2030-03-01T01:30:00Z', 'Asia/Shanghai')).toBe('2030-03-01T09:30');
    expect(dueInputOf('2030-03-01T01:30:15Z', 'UTC')).toBe('2030-03-01T01:30:15');
    expect(dueInputOf(null, 'UTC')).toBe('');
  });

  it('places API field paths on the form controls', () => {
    expect(
      [
        'body.matter.title',
        'body.changes.dueAt',
        'body.reminderRule.every',
        'body.reminderRuleRef',
        'body.kind',
      ].map(formFieldOf),
    ).toEqual(['title', 'due', 'ruleJson', 'ruleTemplate', 'form']);
  });
});
