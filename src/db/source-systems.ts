import { type CatalogEntry, catalogReaders, type NewVersion, nextVersion } from './catalog-versions.js';
import type { Queryable } from './client.js';

export type SourceSystem = CatalogEntry & {
  name: string;
  /** A trusted source's own matters start without a second person's review. */
  trusted: boolean;
  callbackUrl: string | null;
  rateLimitPerMinute: number | null;
  /** The secret itself is write-only: readers learn only whether there is one. */
  hasCallbackSecret: boolean;
};

const columns = (db: Queryable) => db`
  code, version, name, trusted, callback_url as "callbackUrl", rate_limit_per_minute as "rateLimitPerMinute",
  callback_secret_enc is not null as "hasCallbackSecret",
  active, description, created_by as "createdBy", created_at as "createdAt"`;

/** Appends the next version of `code`; `sealedCallbackSecret` is already encrypted (see secret-box). */
export async function addSourceSystemVersion(
  db: Queryable,
  s: Omit<NewVersion<SourceSystem>, 'hasCallbackSecret'> & { sealedCallbackSecret: string | null },
): Promise<SourceSystem> {
  const [row] = await db<SourceSystem[]>`
    insert into source_systems
      (code, version, name, trusted, callback_url, rate_limit_per_minute, active, description, created_by,
       callback_secret_enc)
    values (${s.code}, ${nextVersion(db, 'source_systems', s.code)}, ${s.name}, ${s.trusted}, ${s.callbackUrl},
      ${s.rateLimitPerMinute}, ${s.active}, ${s.description}, ${s.createdBy}, ${s.sealedCallbackSecret})
    returning ${columns(db)}`;
  return row!;
}

/** The sealed callback secret of the latest version of `code`, which a new version keeps unless given one. */
export async function latestSealedCallbackSecret(db: Queryable, code: string): Promise<string | null> {
  const [row] = await db<{ sealed: string | null }[]>`
    select callback_secret_enc as sealed from source_systems where code = ${code}
    order by version desc limit 1`;
  return row?.sealed ?? null;
}

export interface CallbackTarget {
  url: string;
  sealedSecret: string | null;
}

/** Where callbacks of `code` go now: the latest version, if it is active and has a callback URL. */
export async function callbackTarget(db: Queryable, code: string): Promise<CallbackTarget | null> {
  const [row] = await db<{ url: string | null; sealedSecret: string | null; active: boolean }[]>`
    select callback_url as url, callback_secret_enc as "sealedSecret", active from source_systems
    where code = ${code} order by version desc limit 1`;
  return row?.active && row.url ? { url: row.url, sealedSecret: row.sealedSecret } : null;
}

/** What a sealed secret is bound to, so it opens for this source only. */
export const callbackSecretContext = (code: string) => `source_systems:${code}`;

const readers = catalogReaders<SourceSystem>('source_systems', columns);
export const findSourceSystem = readers.find;
export const listSourceSystems = readers.list;
