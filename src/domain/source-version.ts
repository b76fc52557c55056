/**
 * The source-system version rule: each write of a matter by its source carries a version, and only
 * a higher one than the version held changes anything. Pure, so the API and its tests share it.
 */

/** A matter as its source states it, normalized so that omitting a default is not a change. */
export interface SourceContent {
  title: string;
  details: string | null;
  link: string | null;
  dueAt: string | null;
  priority: string;
  reminderRule: Record<string, unknown> | null;
  reminderRuleRef: { code: string; version?: number } | null;
  handlerId: string | null;
  groupId: string | null;
}

/** What a source's cancel holds as its content: a cancel resent is the same cancel. */
export const CANCELLED = { cancelled: true } as const;

export type HeldContent = SourceContent | typeof CANCELLED;

export interface Held {
  version: number;
  content: HeldContent;
}

export type Verdict =
  /** Nothing held yet: the write is the first the source made with a version. */
  | { kind: 'first' }
  /** The version held, with the content held: a resend, answered as before. */
  | { kind: 'same'; held: number }
  /** The version held with other content: the source broke its own rule. */
  | { kind: 'conflict'; held: number }
  /** Older than the version held: dropped and reported. */
  | { kind: 'stale'; held: number }
  | { kind: 'newer'; held: number };

/** JSON with keys sorted at every level, so stored jsonb (which reorders keys) compares equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export const sameContent = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

export function judge(held: Held | null, version: number, content: HeldContent): Verdict {
  if (!held) return { kind: 'first' };
  if (version < held.version) return { kind: 'stale', held: held.version };
  if (version > held.version) return { kind: 'newer', held: held.version };
  return sameContent(held.content, content)
    ? { kind: 'same', held: held.version }
    : { kind: 'conflict', held: held.version };
}

export const isCancel = (c: HeldContent): c is typeof CANCELLED => 'cancelled' in c;

/** The fields a newer version changes; the rule counts as one field however it is given. */
export type SourceField =
  | 'title'
  | 'details'
  | 'link'
  | 'dueAt'
  | 'priority'
  | 'reminderRule'
  | 'handlerId'
  | 'groupId';

export function changedFields(base: SourceContent, next: SourceContent): SourceField[] {
  const fields: SourceField[] = [];
  for (const f of ['title', 'details', 'link', 'dueAt', 'priority'] as const) {
    if (base[f] !== next[f]) fields.push(f);
  }
  if (!sameContent([base.reminderRule, base.reminderRuleRef], [next.reminderRule, next.reminderRuleRef]))
    fields.push('reminderRule');
  if (base.handlerId !== next.handlerId) fields.push('handlerId');
  if (base.groupId !== next.groupId) fields.push('groupId');
  return fields;
}
