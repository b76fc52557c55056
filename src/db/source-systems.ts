import { type CatalogEntry, catalogReaders, type NewVersion, nextVersion } from './catalog-versions.js';
import type { Queryable } from './client.js';

export type SourceSystem = CatalogEntry & {
  name: string;
  /** A trusted source's own matters start without a second person's review. */
  trusted: boolean;
  callbackUrl: string | null;
  rateLimitPerMinute: number | null;
};

const columns = (db: Queryable) => db`
  code, version, name, trusted, callback_url as "callbackUrl", rate_limit_per_minute as "rateLimitPerMinute",
  active, description, created_by as "createdBy", created_at as "createdAt"`;

/** Appends the next version of `code`. */
export async function addSourceSystemVersion(
  db: Queryable,
  s: NewVersion<SourceSystem>,
): Promise<SourceSystem> {
  const [row] = await db<SourceSystem[]>`
    insert into source_systems
      (code, version, name, trusted, callback_url, rate_limit_per_minute, active, description, created_by)
    values (${s.code}, ${nextVersion(db, 'source_systems', s.code)}, ${s.name}, ${s.trusted}, ${s.callbackUrl},
      ${s.rateLimitPerMinute}, ${s.active}, ${s.description}, ${s.createdBy})
    returning ${columns(db)}`;
  return row!;
}

const readers = catalogReaders<SourceSystem>('source_systems', columns);
export const findSourceSystem = readers.find;
export const listSourceSystems = readers.list;
