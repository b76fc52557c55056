import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TObject, Type } from '@sinclair/typebox';
import type { Role } from '../db/api-tokens.js';
import { audit } from '../db/audit.js';
import type { CatalogEntry } from '../db/catalog-versions.js';
import type { Queryable, Sql } from '../db/client.js';
import { requireRole } from './auth.js';
import { notFound } from './errors.js';
import { ErrorResponse } from './schemas.js';

type App = Parameters<FastifyPluginAsyncTypebox>[0];

const present = <T extends CatalogEntry>(t: T) => ({ ...t, createdAt: t.createdAt.toISOString() });
const secured = [{ bearer: [] }];

/** Writes the next version with its audit row in one transaction: no version goes unrecorded. */
export function saveVersion<T extends CatalogEntry & Record<string, unknown>>(
  sql: Sql,
  actorId: string,
  entityType: 'exception_type' | 'source_system' | 'business_calendar',
  add: (tx: Queryable) => Promise<T>,
) {
  return sql.begin(async (tx) => {
    const saved = present(await add(tx));
    await audit(tx, {
      actorId,
      action: `${entityType}.saved`,
      entityType,
      entityId: `${saved.code}@${saved.version}`,
      after: saved,
    });
    return saved;
  });
}

/** The two reads every versioned catalog serves: the latest of each entry, and one entry's history. */
export function catalogReads(
  app: App,
  sql: Sql,
  c: {
    path: string;
    /** What one entry is called in summaries and refusals. */
    noun: string;
    notFoundCode: string;
    /** Every authenticated caller when empty. */
    roles: Role[];
    codeMaxLength: number;
    versions: TObject;
    list: (db: Queryable, code?: string) => Promise<CatalogEntry[]>;
  },
): void {
  const response = { 200: c.versions, '4xx': ErrorResponse };
  app.get(
    c.path,
    {
      preHandler: requireRole(...c.roles),
      schema: {
        tags: ['catalogs'],
        summary: `The latest version of every ${c.noun}`,
        security: secured,
        response,
      },
    },
    async () => ({ items: (await c.list(sql)).map(present) }),
  );

  app.get(
    `${c.path}/:code`,
    {
      preHandler: requireRole(...c.roles),
      schema: {
        tags: ['catalogs'],
        summary: `Every version of one ${c.noun}, newest first`,
        security: secured,
        params: Type.Object({ code: Type.String({ maxLength: c.codeMaxLength }) }),
        response,
      },
    },
    async (request) => {
      const items = await c.list(sql, request.params.code);
      if (items.length === 0) throw notFound(c.notFoundCode, `no ${c.noun} ${request.params.code}`);
      return { items: items.map(present) };
    },
  );
}
