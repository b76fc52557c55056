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
  active: boolean;
  channels: ChannelRow[];
  createdAt: Date;
}

export interface NewHandler {
  id: string;
  name: string;
  supervisorId: string | null;
  timezone: string;
  channels: ChannelRow[];
}

/** Inserts the handler and its channels; false when the id is taken. */
export async function insertHandler(tx: Queryable, h: NewHandler): Promise<boolean> {
  const inserted = await tx`
    insert into handlers (id, name, supervisor_id, timezone)
    values (${h.id}, ${h.name}, ${h.supervisorId}, ${h.timezone})
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
      active: boolean;
      createdAt: Date;
    }[]
  >`
    select id, name, supervisor_id as "supervisorId", timezone, active, created_at as "createdAt"
    from handlers where id = ${id}`;
  if (!row) return null;
  const channels = await db<ChannelRow[]>`
    select type, address, settings from handler_channels where handler_id = ${id} order by position`;
  return { ...row, channels: [...channels] };
}

export async function handlerExists(db: Queryable, id: string): Promise<boolean> {
  const rows = await db`select 1 from handlers where id = ${id} and active`;
  return rows.length > 0;
}
