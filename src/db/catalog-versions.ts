import type postgres from 'postgres';
import type { Queryable } from './client.js';

/** Catalogs that keep every version of an entry under (code, version) and never change one. */
export type CatalogTable = 'exception_types' | 'source_systems' | 'business_calendars';

// Type aliases, not interfaces: an entry is a plain record, fit to be an audit row's `after`.
export type CatalogEntry = {
  code: string;
  version: number;
  active: boolean;
  description: string | null;
  createdBy: string;
  createdAt: Date;
};

/** What a writer gives; the catalog numbers the version and stamps the time. */
export type NewVersion<T extends CatalogEntry> = Omit<T, 'version' | 'createdAt'>;

/** The version a new row of `code` takes; the primary key makes two concurrent writers collide, not overwrite. */
export const nextVersion = (db: Queryable, table: CatalogTable, code: string) =>
  db`(select coalesce(max(version), 0) + 1 from ${db(table)} where code = ${code})`;

/** Readers of one catalog; `columns` may name the table as `t`. */
export function catalogReaders<T extends CatalogEntry>(
  table: CatalogTable,
  columns: (db: Queryable) => postgres.Fragment,
) {
  const read = async (db: Queryable, code?: string, version?: number): Promise<T[]> => [
    ...(await db<T[]>`
      select ${columns(db)} from ${db(table)} t
      where ${
        code !== undefined
          ? db`code = ${code}`
          : db`version = (select max(version) from ${db(table)} l where l.code = t.code)`
      }
      ${version !== undefined ? db`and version = ${version}` : db``}
      order by code, version desc`),
  ];
  return {
    /** The latest version when none is named. */
    find: async (db: Queryable, code: string, version?: number): Promise<T | null> =>
      (await read(db, code, version))[0] ?? null,
    /** Every version of `code`, newest first; without a code, the latest version of each. */
    list: (db: Queryable, code?: string): Promise<T[]> => read(db, code),
  };
}
