/** How a field changes in a change request; shown as a word, never by colour alone. */
export type RowChange = 'added' | 'removed' | 'changed';

export interface DiffRow {
  field: string;
  before: string | null;
  after: string | null;
  change: RowChange;
}

/** Reviewers read a matter top-down: who and what first, then timing and rules. */
const ORDER = [
  'status',
  'source',
  'externalId',
  'title',
  'details',
  'link',
  'handlerId',
  'groupId',
  'dueAt',
  'priority',
  'reminderRuleRef',
  'reminderRule',
];

const rank = (field: string) => {
  const i = ORDER.indexOf(field);
  return i === -1 ? ORDER.length : i;
};

/** One line of text for a value; structured values (rules, template refs) as compact JSON. */
export function showValue(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isRef(value)) return `${value.code} v${value.version}`;
  return JSON.stringify(value);
}

const isRef = (v: unknown): v is { code: string; version: number } =>
  typeof v === 'object' &&
  v !== null &&
  Object.keys(v).length === 2 &&
  typeof (v as { code?: unknown }).code === 'string' &&
  typeof (v as { version?: unknown }).version === 'number';

/** A change request's `diff` (field → `{ from, to }`) as table rows in a stable, readable order. */
export function diffRows(diff: Record<string, unknown>): DiffRow[] {
  return Object.entries(diff)
    .map(([field, entry]) => {
      const { from, to } = (entry ?? {}) as { from?: unknown; to?: unknown };
      const before = showValue(from);
      const after = showValue(to);
      const change: RowChange = before === null ? 'added' : after === null ? 'removed' : 'changed';
      return { field, before, after, change };
    })
    .sort((a, b) => rank(a.field) - rank(b.field) || a.field.localeCompare(b.field));
}
