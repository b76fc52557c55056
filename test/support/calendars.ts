import type { BusinessCalendar } from '../../src/domain/calendar.js';

/** A Shanghai branch office: Monday to Friday, 09:00–12:00 and 13:00–18:00, lunch off. */
export const SHANGHAI_OFFICE: BusinessCalendar = {
  timeZone: 'Asia/Shanghai',
  workingDays: [1, 2, 3, 4, 5],
  workingHours: [
    { start: '09:00', end: '12:00' },
    { start: '13:00', end: '18:00' },
  ],
  holidays: [],
  workdays: [],
};
