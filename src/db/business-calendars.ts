import type { BusinessCalendar } from '../domain/calendar.js';
import { type CatalogEntry, catalogReaders, type NewVersion, nextVersion } from './catalog-versions.js';
import type { Queryable } from './client.js';

// Spelled out, not `& BusinessCalendar`: an interface is not a plain record, and entries become audit rows.
export type CalendarEntry = CatalogEntry & {
  name: string;
  timeZone: string;
  workingDays: number[];
  workingHours: { start: string; end: string }[];
  holidays: string[];
  workdays: string[];
};

const columns = (db: Queryable) => db`
  code, version, name, time_zone as "timeZone", working_days as "workingDays", working_hours as "workingHours",
  holidays, workdays, active, description, created_by as "createdBy", created_at as "createdAt"`;

export async function addCalendarVersion(
  db: Queryable,
  c: NewVersion<CalendarEntry>,
): Promise<CalendarEntry> {
  const [row] = await db<CalendarEntry[]>`
    insert into business_calendars
      (code, version, name, time_zone, working_days, working_hours, holidays, workdays, active, description, created_by)
    values (${c.code}, ${nextVersion(db, 'business_calendars', c.code)}, ${c.name}, ${c.timeZone}, ${c.workingDays},
      ${db.json(c.workingHours as never)}, ${c.holidays}, ${c.workdays}, ${c.active}, ${c.description}, ${c.createdBy})
    returning ${columns(db)}`;
  return row!;
}

const readers = catalogReaders<CalendarEntry>('business_calendars', columns);
export const findCalendar = readers.find;
export const listCalendars = readers.list;

/** The latest version of a calendar in use, as the planner reads it; null when none is. */
export async function calendarInUse(db: Queryable, code: string): Promise<BusinessCalendar | null> {
  const c = await findCalendar(db, code);
  if (!c?.active) return null;
  // Only what the planner reads, so a calendar travels into a workflow's state without bookkeeping.
  return {
    timeZone: c.timeZone,
    workingDays: c.workingDays,
    workingHours: c.workingHours,
    holidays: c.holidays,
    workdays: c.workdays,
  };
}
