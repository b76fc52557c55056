import type { ExceptionTypeNames, OnFiling, Severity, Subscriber } from '../domain/exception-type.js';
import { type CatalogEntry, catalogReaders, type NewVersion, nextVersion } from './catalog-versions.js';
import type { Queryable } from './client.js';

/** An inactive latest version means the type can no longer be filed. */
export type ExceptionType = CatalogEntry & {
  names: ExceptionTypeNames;
  severity: Severity;
  fieldsSchema: Record<string, unknown>;
  onFiling: OnFiling;
  subscribers: Subscriber[];
};

const columns = (db: Queryable) => db`
  t.code, t.version, t.names, t.severity, t.fields_schema as "fieldsSchema", t.on_filing as "onFiling",
  t.active, t.description, t.created_by as "createdBy", t.created_at as "createdAt",
  coalesce((
    select json_agg(case
      when s.webhook_url is not null then json_build_object('kind', 'webhook', 'url', s.webhook_url)
      else json_build_object(
        'kind', case when s.handler_id is null then 'group' else 'handler' end,
        'id', coalesce(s.handler_id, s.group_id)) end order by s.position)
    from exception_type_subscribers s where s.code = t.code and s.version = t.version
  ), '[]') as subscribers`;

const readers = catalogReaders<ExceptionType>('exception_types', columns);
export const findExceptionType = readers.find;
export const listExceptionTypes = readers.list;

/** The subscribers that name no handler or group, in the order given. */
export async function unknownSubscribers(db: Queryable, subscribers: Subscriber[]): Promise<Subscriber[]> {
  const ids = (kind: 'handler' | 'group') => subscribers.flatMap((s) => (s.kind === kind ? [s.id] : []));
  const found = await db<{ kind: string; id: string }[]>`
    select 'handler' as kind, id from handlers where id = any(${ids('handler')}::text[])
    union all
    select 'group' as kind, id from handler_groups where id = any(${ids('group')}::text[])`;
  return subscribers.filter(
    (s) => s.kind !== 'webhook' && !found.some((f) => f.kind === s.kind && f.id === s.id),
  );
}

/** Appends the next version of `code`, its subscribers with it. */
export async function addExceptionTypeVersion(
  db: Queryable,
  t: NewVersion<ExceptionType>,
): Promise<ExceptionType> {
  const [row] = await db<{ version: number }[]>`
    insert into exception_types (code, version, names, severity, fields_schema, on_filing, active, description,
      created_by)
    values (${t.code}, ${nextVersion(db, 'exception_types', t.code)}, ${db.json(t.names as never)}, ${t.severity},
      ${db.json(t.fieldsSchema as never)}, ${t.onFiling}, ${t.active}, ${t.description}, ${t.createdBy})
    returning version`;
  const version = row!.version;
  if (t.subscribers.length > 0) {
    await db`insert into exception_type_subscribers ${db(
      t.subscribers.map((s, position) => ({
        code: t.code,
        version,
        position,
        handler_id: s.kind === 'handler' ? s.id : null,
        group_id: s.kind === 'group' ? s.id : null,
        webhook_url: s.kind === 'webhook' ? s.url : null,
      })),
    )}`;
  }
  return (await findExceptionType(db, t.code, version))!;
}
