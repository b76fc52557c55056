import type { Sql } from '../db/client.js';

/** A bank's branch directory fits; beyond this the console is the wrong tool to browse it. */
const DIRECTORY_LIMIT = 2000;

export interface DirectoryHandler {
  id: string;
  name: string;
  supervisorId: string | null;
  timezone: string;
  locale: string;
  active: boolean;
  channels: { type: string; address: string }[];
}

/** The directory as the console lists it; channel settings (secrets) are never read. */
export async function listDirectoryHandlers(sql: Sql): Promise<DirectoryHandler[]> {
  return [
    ...(await sql<DirectoryHandler[]>`
      select h.id, h.name, h.supervisor_id as "supervisorId", h.timezone, h.locale, h.active,
        coalesce((select json_agg(json_build_object('type', c.type, 'address', c.address) order by c.position)
          from handler_channels c where c.handler_id = h.id), '[]') as channels
      from handlers h
      order by h.active desc, h.name, h.id
      limit ${DIRECTORY_LIMIT}`),
  ];
}

/** The console's landing counts: requests others may review for me to pick up, and my own still waiting. */
export async function reviewCounts(sql: Sql, subject: string): Promise<{ toReview: number; mine: number }> {
  const [row] = await sql<{ toReview: number; mine: number }[]>`
    select count(*) filter (where maker_id <> ${subject})::int as "toReview",
      count(*) filter (where maker_id = ${subject})::int as mine
    from change_requests where status = 'pending'`;
  return row ?? { toReview: 0, mine: 0 };
}
