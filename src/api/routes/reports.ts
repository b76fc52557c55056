import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pgErrorCode, type Sql } from '../../db/client.js';
import {
  dailyFilingCounts,
  type FilingReportRow,
  listFilingReport,
  matterSlaReport,
  type SlaFigures,
  streamFilingReport,
} from '../../db/reports.js';
import { requireRole } from '../auth.js';
import { type CsvCell, csvLine, toCsv } from '../csv.js';
import { badRequest } from '../errors.js';
import {
  DailyFilingQuery,
  DailyFilingReport,
  FilingReport,
  FilingReportQuery,
  MatterReport,
  MatterReportQuery,
} from '../report-schemas.js';
import { ErrorResponse } from '../schemas.js';

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const READERS = ['admin', 'manager', 'reviewer', 'auditor'] as const;

const field = (name: string, problem: string) => [{ field: `querystring.${name}`, problem }];

/** [from, to) from the query: both optional, from before to, at most a leap year long. */
function rangeOf(q: { from?: string; to?: string }): { from: string; to: string } {
  const to = q.to ? new Date(q.to) : new Date();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) {
    throw badRequest('INVALID_RANGE', '`from` must be before `to`', field('from', 'must be before to'));
  }
  if (to.getTime() - from.getTime() > MAX_DAYS * DAY_MS) {
    throw badRequest(
      'RANGE_TOO_LONG',
      `a report covers at most ${MAX_DAYS} days`,
      field('to', `at most ${MAX_DAYS} days after from`),
    );
  }
  return { from: from.toISOString(), to: to.toISOString() };
}

function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw unknownZone(timeZone);
  }
}
const unknownZone = (timeZone: string) =>
  badRequest('INVALID_TIME_ZONE', `unknown time zone "${timeZone}"`, field('timeZone', 'not an IANA zone'));

function wantsCsv(request: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  return format ? format === 'csv' : (request.headers.accept ?? '').includes('text/csv');
}

function sendCsv(reply: FastifyReply, name: string, range: { from: string; to: string }, body: unknown) {
  const file = `${name}_${range.from.slice(0, 10)}_${range.to.slice(0, 10)}.csv`;
  return reply
    .header('content-type', 'text/csv; charset=utf-8; header=present')
    .header('content-disposition', `attachment; filename="${file}"`)
    .send(body);
}

function encodeCursor(row: FilingReportRow): string {
  return Buffer.from(JSON.stringify([row.cursorAt, row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { filedAt: string; id: string } {
  try {
    const [filedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof filedAt === 'string' &&
      !Number.isNaN(Date.parse(filedAt)) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id)
    ) {
      return { filedAt, id };
    }
  } catch {}
  throw badRequest('INVALID_CURSOR', 'cursor is not one this API returned', field('cursor', 'unknown'));
}

const FILING_HEADER = [
  'filed_at',
  'event_type',
  'source',
  'external_id',
  'title',
  'filed_by',
  'description',
  'fields',
  'matter_id',
  'filing_id',
];
const filingCells = (r: FilingReportRow): CsvCell[] => [
  r.filedAt.toISOString(),
  r.eventType,
  r.source,
  r.externalId,
  r.title,
  r.filedBy,
  r.description,
  JSON.stringify(r.fields),
  r.matterId,
  r.id,
];

const SLA_HEADER = [
  'source',
  'total',
  'open',
  'overdue',
  'completed',
  'cancelled',
  'median_seconds_to_complete',
  'p90_seconds_to_complete',
  'avg_reminders_before_completion',
  'transfers',
  'avg_transfers',
];
const slaCells = (source: string, f: SlaFigures): CsvCell[] => [
  source,
  f.total,
  f.open,
  f.overdue,
  f.completed,
  f.cancelled,
  f.medianSecondsToComplete,
  f.p90SecondsToComplete,
  f.avgRemindersBeforeCompletion,
  f.transfers,
  f.avgTransfers,
];
/** Source codes never contain parentheses, so this cannot clash with one. */
const OVERALL = '(all)';

const csvResponse = { 'text/csv': { schema: Type.String() } };
const secured = [{ bearer: [] }];

export const reportRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.get(
    '/v1/reports/exceptions',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary:
          'Exception filings by type, source, filing handler and time, newest first; CSV exports every match',
        security: secured,
        querystring: FilingReportQuery,
        response: {
          200: { content: { 'application/json': { schema: FilingReport }, ...csvResponse } },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { from: _f, to: _t, format, limit, cursor, ...rest } = request.query;
      const range = rangeOf(request.query);
      const filter = { ...range, ...rest };
      if (wantsCsv(request, format)) {
        return sendCsv(reply, 'exception-filings', range, Readable.from(filingCsv(sql, filter)));
      }
      const rows = await listFilingReport(sql, filter, {
        limit: limit + 1,
        after: cursor ? decodeCursor(cursor) : undefined,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        ...range,
        items: page.map(({ cursorAt: _c, ...r }) => ({ ...r, filedAt: r.filedAt.toISOString() })),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get(
    '/v1/reports/exceptions/daily',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary: 'Exception filings counted per type per day, days taken in the given time zone',
        security: secured,
        querystring: DailyFilingQuery,
        response: {
          200: { content: { 'application/json': { schema: DailyFilingReport }, ...csvResponse } },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { from: _f, to: _t, format, timeZone, ...rest } = request.query;
      const range = rangeOf(request.query);
      checkTimeZone(timeZone);
      let items: Awaited<ReturnType<typeof dailyFilingCounts>>;
      try {
        items = await dailyFilingCounts(sql, { ...range, ...rest, timeZone });
      } catch (err) {
        // ICU and Postgres's zone database can disagree on a rare name.
        if (pgErrorCode(err) === '22023') throw unknownZone(timeZone);
        throw err;
      }
      if (wantsCsv(request, format)) {
        const csv = toCsv(
          ['day', 'event_type', 'count'],
          items.map((i) => [i.day, i.eventType, i.count]),
        );
        return sendCsv(reply, 'exception-filings-daily', range, csv);
      }
      return { ...range, timeZone, items };
    },
  );

  app.get(
    '/v1/reports/matters',
    {
      preHandler: requireRole(...READERS),
      schema: {
        tags: ['reports'],
        summary:
          'SLA figures of the matters created in a range, per source and overall: open, overdue, completed, time to complete, reminders, transfers',
        security: secured,
        querystring: MatterReportQuery,
        response: {
          200: { content: { 'application/json': { schema: MatterReport }, ...csvResponse } },
          '4xx': ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { from: _f, to: _t, format, ...rest } = request.query;
      const range = rangeOf(request.query);
      const asOf = new Date();
      const report = await matterSlaReport(sql, { ...range, ...rest }, asOf);
      if (wantsCsv(request, format)) {
        const csv = toCsv(SLA_HEADER, [
          slaCells(OVERALL, report.overall),
          ...report.bySource.map((s) => slaCells(s.source, s)),
        ]);
        return sendCsv(reply, 'matter-sla', range, csv);
      }
      return { ...range, asOf: asOf.toISOString(), ...report };
    },
  );
};

async function* filingCsv(sql: Sql, filter: Parameters<typeof streamFilingReport>[1]) {
  yield csvLine(FILING_HEADER);
  for await (const batch of streamFilingReport(sql, filter)) {
    yield batch.map((r) => csvLine(filingCells(r))).join('');
  }
}
