import { DateTime } from 'luxon';
import type { MatterChanges, MatterInputBody } from '../api/schemas.js';
import type { ReminderRule } from '../domain/reminder-rule.js';

/** A matter form exactly as posted: every control is text, an empty one means "not given". */
export interface MatterForm {
  source: string;
  externalId: string;
  title: string;
  details: string;
  link: string;
  /** `datetime-local` wall time, read in `timeZone`. */
  due: string;
  timeZone: string;
  priority: string;
  handlerId: string;
  groupId: string;
  /** `code@version` of a catalog template, or empty for the inline rule. */
  ruleTemplate: string;
  ruleJson: string;
  reason: string;
}

export const FORM_FIELDS = [
  'source',
  'externalId',
  'title',
  'details',
  'link',
  'due',
  'timeZone',
  'priority',
  'handlerId',
  'groupId',
  'ruleTemplate',
  'ruleJson',
  'reason',
] as const satisfies readonly (keyof MatterForm)[];

/** A message key of the console catalog, or text a service gave (shown as it came). */
export type FieldError = { key: string } | { text: string };
/** Errors by form control; `form` holds those that belong to no one control. */
export type FieldErrors = Record<string, FieldError[]>;

export function readMatterForm(body: unknown): MatterForm {
  const raw = (body ?? {}) as Record<string, unknown>;
  const text = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string).trim() : '');
  return Object.fromEntries(FORM_FIELDS.map((f) => [f, text(f)])) as unknown as MatterForm;
}

export function addError(errors: FieldErrors, field: string, e: FieldError): void {
  errors[field] = [...(errors[field] ?? []), e];
}

/** Both lists of errors, field by field. */
export function mergeErrors(a: FieldErrors, b: FieldErrors | null): FieldErrors {
  const merged = { ...a };
  for (const [field, list] of Object.entries(b ?? {})) for (const e of list) addError(merged, field, e);
  return merged;
}

/** Wall time in a zone → RFC 3339 UTC; null when either is not valid. */
function dueAtOf(due: string, timeZone: string): string | null {
  const t = DateTime.fromISO(due, { zone: timeZone });
  return t.isValid ? t.toUTC().toISO({ suppressMilliseconds: true }) : null;
}

/** RFC 3339 → the wall time a `datetime-local` control shows in `timeZone`. */
export function dueInputOf(dueAt: string | null, timeZone: string): string {
  if (!dueAt) return '';
  const t = DateTime.fromISO(dueAt, { zone: timeZone });
  if (!t.isValid) return '';
  return t.toFormat(t.second === 0 ? "yyyy-MM-dd'T'HH:mm" : "yyyy-MM-dd'T'HH:mm:ss");
}

type Rule = { reminderRule?: ReminderRule; reminderRuleRef?: { code: string; version: number } };

/**
 * The template or the inline JSON; JSON that is not an object is refused here. Both at once is refused
 * unless `templateWins` (the edit form, whose JSON shows the matter's current rule).
 */
function ruleOf(form: MatterForm, errors: FieldErrors, templateWins = false): Rule {
  if (form.ruleTemplate && form.ruleJson && !templateWins) {
    addError(errors, 'ruleJson', { key: 'console.error.ruleBoth' });
    return {};
  }
  if (form.ruleTemplate) {
    const at = form.ruleTemplate.lastIndexOf('@');
    const version = Number(form.ruleTemplate.slice(at + 1));
    if (at <= 0 || !Number.isInteger(version) || version < 1) {
      addError(errors, 'ruleTemplate', { key: 'console.error.invalid' });
      return {};
    }
    return { reminderRuleRef: { code: form.ruleTemplate.slice(0, at), version } };
  }
  if (!form.ruleJson) return {};
  try {
    const parsed: unknown = JSON.parse(form.ruleJson);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return { reminderRule: parsed as ReminderRule };
    }
  } catch {}
  addError(errors, 'ruleJson', { key: 'console.error.ruleJson' });
  return {};
}

function dueOf(form: MatterForm, errors: FieldErrors): string | null {
  if (!form.due) return null;
  if (!DateTime.local().setZone(form.timeZone).isValid) {
    addError(errors, 'timeZone', { key: 'console.error.invalid' });
    return null;
  }
  const dueAt = dueAtOf(form.due, form.timeZone);
  if (!dueAt) addError(errors, 'due', { key: 'console.error.invalid' });
  return dueAt;
}

const given = <K extends string, V>(key: K, value: V | '' | null | undefined) =>
  value === '' || value === null || value === undefined ? {} : ({ [key]: value } as Record<K, V>);

/**
 * The body `POST /v1/matters` takes and what is wrong with the form itself; what cannot be read is left
 * out of the body, so the schema's check of the rest adds its own errors beside these.
 */
export function newMatterInput(form: MatterForm): { input: MatterInputBody; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (form.handlerId && form.groupId) addError(errors, 'groupId', { key: 'console.error.assigneeBoth' });
  if (!form.handlerId && !form.groupId) addError(errors, 'handlerId', { key: 'console.error.assignee' });
  const rule = ruleOf(form, errors);
  const dueAt = dueOf(form, errors);
  return {
    errors,
    input: {
      source: form.source,
      externalId: form.externalId,
      title: form.title,
      ...given('handlerId', form.handlerId),
      ...given('groupId', form.groupId),
      ...given('details', form.details),
      ...given('link', form.link),
      ...given('dueAt', dueAt),
      ...given('priority', form.priority as MatterInputBody['priority']),
      ...rule,
    },
  };
}

/**
 * The changes a modify request proposes. Every control is sent as it stands: the change service
 * keeps only what differs from the matter, and emptied text fields become null (cleared).
 */
export function matterChanges(
  form: MatterForm,
  templateRule: (code: string, version: number) => ReminderRule | undefined,
): { changes: MatterChanges; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const rule = ruleOf(form, errors, true);
  const dueAt = dueOf(form, errors);
  // A modify request carries the rule itself: a template is resolved to the version chosen.
  let reminderRule = rule.reminderRule;
  if (rule.reminderRuleRef) {
    reminderRule = templateRule(rule.reminderRuleRef.code, rule.reminderRuleRef.version);
    if (!reminderRule) addError(errors, 'ruleTemplate', { key: 'console.error.invalid' });
  }
  return {
    errors,
    changes: {
      title: form.title,
      details: form.details || null,
      link: form.link || null,
      dueAt,
      ...given('priority', form.priority as MatterChanges['priority']),
      ...given('handlerId', form.handlerId),
      ...given('reminderRule', reminderRule),
    },
  };
}

/** Where an API field path (`body.matter.title`, `body.reminderRule.every`) shows on the form. */
export function formFieldOf(path: string | undefined): string {
  const parts = (path ?? '').split('.').filter((p) => p !== 'body' && p !== 'matter' && p !== 'changes');
  const head = parts[0] ?? '';
  if (head === 'dueAt') return 'due';
  if (head === 'reminderRule') return 'ruleJson';
  if (head === 'reminderRuleRef') return 'ruleTemplate';
  return (FORM_FIELDS as readonly string[]).includes(head) ? head : 'form';
}
