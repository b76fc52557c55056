import type { PlanningQuery } from '../activities/contracts.js';
import { ROUND_THE_CLOCK } from '../domain/calendar.js';
import type { PlanningContext } from '../domain/planner.js';
import { calendarInUse } from './business-calendars.js';
import type { Queryable } from './client.js';
import { getHandler, quietHoursOf } from './handlers.js';

/** The calendar a rule counts on (the latest version) and the handler's quiet hours in their zone. */
export async function planningContextFor(db: Queryable, query: PlanningQuery): Promise<PlanningContext> {
  const [calendar, handler] = await Promise.all([
    query.calendar ? calendarInUse(db, query.calendar) : null,
    query.handlerId ? getHandler(db, query.handlerId) : null,
  ]);
  return { calendar: calendar ?? ROUND_THE_CLOCK, quiet: handler && quietHoursOf(handler) };
}
