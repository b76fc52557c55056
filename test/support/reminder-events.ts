import type { Sql } from '../../src/db/client.js';

/**
 * The source's matters whose events are missing, doubled or out of sequence: each must hold events dense from
 * 1, one assignment, and reminders with distinct indexes covering `reminders` slots (a late reminder folds
 * the slots it skipped into itself). Also the number of events in all, for the notice counts.
 */
export async function reminderEventFlaws(
  sql: Sql,
  source: string,
  reminders: number,
): Promise<{ flawed: object[]; events: number }> {
  const perMatter = await sql<
    { id: string; events: number; maxSeq: number; assigned: number; indexes: number; slots: number }[]
  >`
  select m.id, count(e.*)::int as events, coalesce(max(e.seq), 0)::int as "maxSeq",
    count(*) filter (where e.type = 'matter.assigned')::int as assigned,
    count(distinct (e.data->>'index')) filter (where e.type = 'matter.reminder')::int as indexes,
    coalesce(sum(1 + coalesce((e.data->>'skipped')::int, 0)) filter (where e.type = 'matter.reminder'), 0)::int as slots
  from matters m left join matter_events e on e.matter_id = m.id
  where m.source = ${source} group by m.id`;
  return {
    flawed: perMatter.filter(
      (m) => m.events !== m.maxSeq || m.assigned !== 1 || m.indexes !== m.events - 1 || m.slots !== reminders,
    ),
    events: perMatter.reduce((n, m) => n + m.events, 0),
  };
}
