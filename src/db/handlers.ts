import type { QuietHours } from '../domain/calendar.js';
import type { ReminderCaps } from '../domain/reminder-caps.js';
import type { Queryable } from './client.js';

export interface ChannelRow {
  type: string;
  address: string;
  settings: Record<string, unknown>;
}

export interface HandlerRecord {
  id: string;
  name: string;
  supervisorId: string | null;
  timezone: string;
  locale: string;
  quietHours: { start: string; end: string } | null;
  /** Null: the deployment's default caps apply. */
  reminderCaps: ReminderCaps | null;
  active: boolean;
  channels: ChannelRow[];
  createdAt: Date;
}

export interface NewHandler {
  id: string;
  name: string;
  supervisorId: string | null;
  timezone: string;
  locale: string;
  quietHours: { start: string; end: string } | null;
  reminderCaps: ReminderCaps | null;
  channels: ChannelRow[];
}

/** Inserts the handler and its channels; false when the id is taken. */
export async function insertHandler(tx: Queryable, h: NewHandler): Promise<boolean> {
  const inserted = await tx`
    insert into handlers (id, name, supervisor_id, timezone, locale, quiet_hours, reminder_caps)
    values (${h.id}, ${h.name}, ${h.supervisorId}, ${h.timezone}, ${h.locale},
      ${h.quietHours ? tx.json(h.quietHours) : null}, ${h.reminderCaps ? tx.json({ ...h.reminderCaps }) : null})
    on conflict (id) do nothing
    returning id`;
  if (inserted.length === 0) return false;
  for (const [position, c] of h.channels.entries()) {
    await tx`
      insert into handler_channels (handler_id, position, type, address, settings)
      values (${h.id}, ${position}, ${c.type}, ${c.address}, ${tx.json(c.settings as never)})`;
  }
  return true;
}

export async function getHandler(db: Queryable, id: string): Promise<HandlerRecord | null> {
  const [row] = await db<
    {
      id: string;
      name: string;
      supervisorId: string | null;
      timezone: string;
      locale: string;
      quietHours: { start: string; end: string } | null;
      reminderCaps: ReminderCaps | null;
      active: boolean;
      createdAt: Date;
    }[]
  >`
    select id, name, supervisor_id as "supervisorId", timezone, locale, quiet_hours as "quietHours",
      reminder_caps as "reminderCaps", active,
      created_at as "createdAt"
    from handlers where id = ${id}`;
  if (!row) return null;
  const channels = await db<ChannelRow[]>`
    select type, address, settings from handler_channels where handler_id = ${id} order by position`;
  return { ...row, channels: [...channels] };
}

/** Who a matter can be transferred to, by name. */
export async function listActiveHandlers(
  db: Queryable,
  limit = 2000,
): Promise<{ id: string; name: string }[]> {
  return [
    ...(await db<{ id: string; name: string }[]>`
    select id, name from handlers where active order by name, id limit ${limit}`),
  ];
}

/** Display names for ids; an id with no handler (a system, a manager) stays as it is. */
export async function handlerNames(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const names = new Map(unique.map((id) => [id, id]));
  if (unique.length === 0) return names;
  const rows = await db<
    { id: string; name: string }[]
  >`select id, name from handlers where id = any(${unique})`;
  for (const r of rows) names.set(r.id, r.name);
  return names;
}

export interface HandlerPatch {
  name?: string;
  supervisorId?: string | null;
  timezone?: string;
  locale?: string;
  quietHours?: { start: string; end: string } | null;
  reminderCaps?: ReminderCaps | null;
  active?: boolean;
  channels?: ChannelRow[];
}

export async function updateHandler(tx: Queryable, id: string, p: HandlerPatch): Promise<void> {
  await tx`
    update handlers set
      name = ${p.name ?? tx`name`}, timezone = ${p.timezone ?? tx`timezone`}, locale = ${p.locale ?? tx`locale`},
      active = ${p.active ?? tx`active`},
      supervisor_id = ${p.supervisorId === undefined ? tx`supervisor_id` : p.supervisorId},
      quiet_hours = ${p.quietHours === undefined ? tx`quiet_hours` : p.quietHours ? tx.json(p.quietHours) : null},
      reminder_caps = ${p.reminderCaps === undefined ? tx`reminder_caps` : p.reminderCaps ? tx.json({ ...p.reminderCaps }) : null},
      updated_at = now()
    where id = ${id}`;
  if (p.channels) {
    await tx`delete from handler_channels where handler_id = ${id}`;
    for (const [position, c] of p.channels.entries()) {
      await tx`
        insert into handler_channels (handler_id, position, type, address, settings)
        values (${id}, ${position}, ${c.type}, ${c.address}, ${tx.json(c.settings as never)})`;
    }
  }
}

/** True when making `supervisorId` the supervisor of `id` would close a loop in the reporting line. */
export async function wouldLoop(db: Queryable, id: string, supervisorId: string): Promise<boolean> {
  const [row] = await db<{ loops: boolean }[]>`
    with recursive chain(id, depth) as (
      select ${supervisorId}::text, 0
      union all
      select h.supervisor_id, c.depth + 1 from handlers h join chain c on h.id = c.id
      where h.supervisor_id is not null and c.depth < 100
    )
    select exists (select 1 from chain where id = ${id}) as loops`;
  return row?.loops ?? false;
}

/** A handler's quiet hours, in their own time zone. */
export const quietHoursOf = (h: HandlerRecord): QuietHours | null =>
  h.quietHours ? { ...h.quietHours, timeZone: h.timezone } : null;
