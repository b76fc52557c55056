import { migrate } from '../../src/db/migrate.js';

/**
 * DATABASE_URL, migrated: a bench whose worker runs in another process needs a Postgres server both
 * processes reach, so the embedded one (a single connection in this process) cannot serve.
 */
export async function sharedDatabase(bench: string): Promise<string> {
  const url = process.env.DATABASE_URL;
  if (!url)
    throw new Error(`${bench} needs a Postgres server at DATABASE_URL that the worker process reaches too`);
  await migrate(url);
  return url;
}
