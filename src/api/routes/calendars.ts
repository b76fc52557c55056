import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { addCalendarVersion, listCalendars } from '../../db/business-calendars.js';
import type { Sql } from '../../db/client.js';
import { CalendarError, checkCalendar } from '../../domain/calendar.js';
import { principalOf, requireRole } from '../auth.js';
import { catalogReads, saveVersion } from '../catalog-routes.js';
import { CalendarInput, CalendarVersions, CalendarView } from '../catalog-schemas.js';
import { badRequest } from '../errors.js';
import { ErrorResponse } from '../schemas.js';

/** Business calendars as data: working days and hours, holidays and adjusted working days, per zone. */
export const calendarRoutes: FastifyPluginAsyncTypebox<{ sql: Sql }> = async (app, { sql }) => {
  app.post(
    '/v1/calendars',
    {
      preHandler: requireRole('admin', 'manager'),
      schema: {
        tags: ['catalogs'],
        summary: 'Save a business calendar as its next version; open matters plan with the latest',
        security: [{ bearer: [] }],
        body: CalendarInput,
        response: { 201: CalendarView, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      const { holidays = [], workdays = [], active = true, description, ...rest } = request.body;
      const calendar = { ...rest, holidays, workdays };
      try {
        checkCalendar(calendar);
      } catch (err) {
        if (err instanceof CalendarError) {
          throw badRequest('INVALID_CALENDAR', err.message, [{ field: `body.${err.field}` }]);
        }
        throw err;
      }
      const saved = await saveVersion(sql, actor.subject, 'business_calendar', (tx) =>
        addCalendarVersion(tx, {
          ...calendar,
          active,
          description: description ?? null,
          createdBy: actor.subject,
        }),
      );
      return reply.code(201).send(saved);
    },
  );

  catalogReads(app, sql, {
    path: '/v1/calendars',
    noun: 'business calendar',
    notFoundCode: 'CALENDAR_NOT_FOUND',
    roles: [],
    codeMaxLength: 64,
    versions: CalendarVersions,
    list: listCalendars,
  });
};
