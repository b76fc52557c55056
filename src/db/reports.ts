import type { Queryable } from './client.js';

export interface FilingReportFilter {
  from: string;
  to: string;
  eventType?: string;
  source?: string;
  /** The handler who filed. */
  handlerId?: string;
}

export interface FilingReportRow {
  id: string;
  matterId: string;
  seq: number;
  eventType: string;
  description: string;
  fields: Record<string, unknown>;
  filedBy: string;
  filedAt: Date;
  source: string;
  externalId: string;
  title: string;
  /** filed_at to the microsecond, for the paging cursor; a Date keeps only milliseconds. */
  cursorAt: string;
}

function filingWhere(db: Queryable, f: FilingReportFilter) {
  return db`f.filed_at >= ${f.from} and f.filed_at < ${f.to}
    ${f.eventType === undefined ? db`` : db`and f.event_type = ${f.eventType}`}
    ${f.source === undefined ? db`` : db`and m.source = ${f.source}`}
    ${f.handlerId === undefined ? db`` : db`and f.filed_by = ${f.handlerId}`}`;
}

const filingColumns = (db: Queryable) => db`f.id, f.matter_id as "matterId", f.seq,
  f.event_type as "eventType", f.description, f.fields, f.filed_by as "filedBy", f.filed_at as "filedAt",
  m.source, m.external_id as "externalId", m.title,
  to_char(f.filed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "cursorAt"`;

/** Newest first; `after` is the last row of the previous page. */
export async function listFilingReport(
  db: Queryable,
  filter: FilingReportFilter,
  page: { limit: number; after?: { filedAt: string; id: string } },
): Promise<FilingReportRow[]> {
  return [
    ...(await db<FilingReportRow[]>`
      select ${filingColumns(db)}
      from exception_filings f join matters m on m.id = f.matter_id
      where ${filingWhere(db, filter)}
        ${page.after ? db`and (f.filed_at, f.id) < (${page.after.filedAt}::timestamptz, ${page.after.id}::uuid)` : db``}
      order by f.filed_at desc, f.id desc
      limit ${page.limit}`),
  ];
}

/** Every matching filing, newest first, in batches: an export is not bounded by a page size. */
export function streamFilingReport(
  db: Queryable,
  filter: FilingReportFilter,
  batch = 500,
): AsyncIterable<FilingReportRow[]> {
  return db<FilingReportRow[]>`
    select ${filingColumns(db)}
    from exception_filings f join matters m on m.id = f.matter_id
    where ${filingWhere(db, filter)}
    order by f.filed_at desc, f.id desc`.cursor(batch);
}

export interface DailyCountRow {
  /** YYYY-MM-DD in the requested time zone. */
  day: string;
  eventType: string;
  count: number;
}

export async function dailyFilingCounts(
  db: Queryable,
  filter: FilingReportFilter & { timeZone: string },
): Promise<DailyCountRow[]> {
  return [
    ...(await db<DailyCountRow[]>`
      select to_char(f.filed_at at time zone ${filter.timeZone}, 'YYYY-MM-DD') as day,
        f.event_type as "eventType", count(*)::int as count
      from exception_filings f join matters m on m.id = f.matter_id
      where ${filingWhere(db, filter)}
      group by 1, 2
      order by 1, 2`),
  ];
}

export interface MatterReportFilter {
  from: string;
  to: string;
  source?: string;
  /** The matter's current handler. */
  handlerId?: string;
}

export interface SlaFigures {
  total: number;
  open: number;
  overdue: number;
  completed: number;
  cancelled: number;
  medianSecondsToComplete: number | null;
  p90SecondsToComplete: number | null;
  avgRemindersBeforeCompletion: number | null;
  transfers: number;
  avgTransfers: number | null;
}

export interface SlaReport {
  overall: SlaFigures;
  bySource: (SlaFigures & { source: string })[];
}

const EMPTY: SlaFigures = {
  total: 0,
  open: 0,
  overdue: 0,
  completed: 0,
  cancelled: 0,
  medianSecondsToComplete: null,
  p90SecondsToComplete: null,
  avgRemindersBeforeCompletion: null,
  transfers: 0,
  avgTransfers: null,
};

/** One pass computes each source and the overall figures (the empty grouping set). */
export async function matterSlaReport(db: Queryable, f: MatterReportFilter, now: Date): Promise<SlaReport> {
  const rows = await db<(SlaFigures & { source: string | null; overall: boolean })[]>`
    select source, grouping(source) = 1 as overall,
      count(*)::int as total,
      count(*) filter (where status = 'open')::int as open,
      count(*) filter (where status = 'open' and due_at < ${now})::int as overdue,
      count(*) filter (where status = 'completed')::int as completed,
      count(*) filter (where status = 'cancelled')::int as cancelled,
      percentile_cont(0.5) within group (order by extract(epoch from completed_at - created_at)::float8)
        filter (where status = 'completed') as "medianSecondsToComplete",
      percentile_cont(0.9) within group (order by extract(epoch from completed_at - created_at)::float8)
        filter (where status = 'completed') as "p90SecondsToComplete",
      (avg(reminders_sent) filter (where status = 'completed'))::float8 as "avgRemindersBeforeCompletion",
      coalesce(sum(transfer_count), 0)::int as transfers,
      avg(transfer_count)::float8 as "avgTransfers"
    from matters
    where created_at >= ${f.from} and created_at < ${f.to}
      ${f.source === undefined ? db`` : db`and source = ${f.source}`}
      ${f.handlerId === undefined ? db`` : db`and handler_id = ${f.handlerId}`}
    group by grouping sets ((source), ())
    order by overall, source`;
  const figures = ({ source: _s, overall: _o, ...rest }: (typeof rows)[number]): SlaFigures => rest;
  const overall = rows.find((r) => r.overall);
  return {
    overall: overall ? figures(overall) : EMPTY,
    bySource: rows.filter((r) => !r.overall).map((r) => ({ source: r.source ?? '', ...figures(r) })),
  };
}
