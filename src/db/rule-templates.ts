import type { ReminderRule } from '../domain/reminder-rule.js';
import type { Queryable } from './client.js';

export interface RuleTemplate {
  code: string;
  version: number;
  rule: ReminderRule;
  description: string | null;
  createdBy: string;
  createdAt: Date;
}

const columns = (db: Queryable) =>
  db`code, version, rule, description, created_by as "createdBy", created_at as "createdAt"`;

/** Appends the next version of `code`; the primary key makes two concurrent writers collide, not overwrite. */
export async function addTemplateVersion(
  db: Queryable,
  t: { code: string; rule: ReminderRule; description: string | null; createdBy: string },
): Promise<RuleTemplate> {
  const [row] = await db<RuleTemplate[]>`
    insert into reminder_rule_templates (code, version, rule, description, created_by)
    select ${t.code}, coalesce(max(version), 0) + 1, ${db.json(t.rule as never)}, ${t.description}, ${t.createdBy}
    from reminder_rule_templates where code = ${t.code}
    returning ${columns(db)}`;
  return row!;
}

export async function findTemplate(
  db: Queryable,
  code: string,
  version?: number,
): Promise<RuleTemplate | null> {
  const [row] = await db<RuleTemplate[]>`
    select ${columns(db)} from reminder_rule_templates
    where code = ${code} ${version !== undefined ? db`and version = ${version}` : db``}
    order by version desc limit 1`;
  return row ?? null;
}

export async function listTemplates(db: Queryable, code?: string): Promise<RuleTemplate[]> {
  return [
    ...(await db<RuleTemplate[]>`
      select ${columns(db)} from reminder_rule_templates t
      where ${
        code !== undefined
          ? db`code = ${code}`
          : db`version = (select max(version) from reminder_rule_templates l where l.code = t.code)`
      }
      order by code, version desc`),
  ];
}
