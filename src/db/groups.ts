import type { Queryable } from './client.js';

export interface GroupRecord {
  id: string;
  name: string;
  supervisorId: string | null;
  active: boolean;
  members: string[];
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const columns = (db: Queryable) =>
  db`g.id, g.name, g.supervisor_id as "supervisorId", g.active, g.created_by as "createdBy",
  g.created_at as "createdAt", g.updated_at as "updatedAt",
  coalesce((select array_agg(m.handler_id order by m.handler_id) from group_members m where m.group_id = g.id),
    '{}') as members`;

export interface NewGroup {
  id: string;
  name: string;
  supervisorId: string | null;
  members: string[];
  createdBy: string;
}

/** False when the id is taken. */
export async function insertGroup(tx: Queryable, g: NewGroup): Promise<boolean> {
  const inserted = await tx`
    insert into handler_groups (id, name, supervisor_id, created_by)
    values (${g.id}, ${g.name}, ${g.supervisorId}, ${g.createdBy})
    on conflict (id) do nothing
    returning id`;
  if (inserted.length === 0) return false;
  await setMembers(tx, g.id, g.members);
  return true;
}

async function setMembers(tx: Queryable, groupId: string, members: string[]): Promise<void> {
  await tx`delete from group_members where group_id = ${groupId}`;
  if (members.length === 0) return;
  await tx`
    insert into group_members ${tx(members.map((handler_id) => ({ group_id: groupId, handler_id })))}`;
}

export async function getGroup(db: Queryable, id: string): Promise<GroupRecord | null> {
  const [row] = await db<GroupRecord[]>`select ${columns(db)} from handler_groups g where g.id = ${id}`;
  return row ?? null;
}

export async function listGroups(db: Queryable, memberId?: string): Promise<GroupRecord[]> {
  return [
    ...(await db<GroupRecord[]>`
      select ${columns(db)} from handler_groups g
      ${memberId !== undefined ? db`where exists (select 1 from group_members m where m.group_id = g.id and m.handler_id = ${memberId})` : db``}
      order by g.id limit 1000`),
  ];
}

export interface GroupPatch {
  name?: string;
  supervisorId?: string | null;
  active?: boolean;
  members?: string[];
}

export async function updateGroup(tx: Queryable, id: string, p: GroupPatch): Promise<void> {
  await tx`
    update handler_groups set
      name = ${p.name ?? tx`name`}, active = ${p.active ?? tx`active`},
      supervisor_id = ${p.supervisorId === undefined ? tx`supervisor_id` : p.supervisorId},
      updated_at = now()
    where id = ${id}`;
  if (p.members) await setMembers(tx, id, p.members);
}

/** The handlers among `ids` that do not exist; a group names only real people. */
export async function unknownHandlers(db: Queryable, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = await db<{ id: string }[]>`select id from handlers where id = any(${ids})`;
  const known = new Set(found.map((r) => r.id));
  return ids.filter((id) => !known.has(id));
}

export async function isActiveMember(db: Queryable, groupId: string, handlerId: string): Promise<boolean> {
  const rows = await db`
    select 1 from group_members m join handler_groups g on g.id = m.group_id and g.active
    join handlers h on h.id = m.handler_id and h.active
    where m.group_id = ${groupId} and m.handler_id = ${handlerId}`;
  return rows.length > 0;
}

export async function activeMembers(db: Queryable, groupId: string): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    select m.handler_id as id from group_members m join handlers h on h.id = m.handler_id and h.active
    where m.group_id = ${groupId} order by m.handler_id`;
  return rows.map((r) => r.id);
}

export async function groupExists(db: Queryable, id: string): Promise<boolean> {
  const rows = await db`select 1 from handler_groups where id = ${id} and active`;
  return rows.length > 0;
}
