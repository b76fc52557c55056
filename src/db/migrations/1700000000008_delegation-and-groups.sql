-- Up Migration

-- Out-of-office: while a window lasts, the delegate acts for the handler. Windows of one handler
-- never overlap, and chains are cycle-checked when a window is set (in code, in one transaction).
create table delegations (
  id uuid primary key default gen_random_uuid(),
  handler_id text not null references handlers (id),
  delegate_id text not null references handlers (id),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  reason text,
  created_by text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_by text,
  check (ends_at > starts_at),
  check (delegate_id <> handler_id)
);
create index delegations_handler_window on delegations (handler_id, starts_at) where revoked_at is null;
create index delegations_delegate_window on delegations (delegate_id, starts_at) where revoked_at is null;

-- A matter offered to a group waits for one member to claim it.
create table handler_groups (
  id text primary key check (id ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$'),
  name text not null check (length(name) between 1 and 200),
  supervisor_id text references handlers (id),
  active boolean not null default true,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table group_members (
  group_id text not null references handler_groups (id) on delete cascade,
  handler_id text not null references handlers (id),
  added_at timestamptz not null default now(),
  primary key (group_id, handler_id)
);
create index group_members_handler on group_members (handler_id);

alter table matters alter column handler_id drop not null;
alter table matters add column group_id text references handler_groups (id);
alter table matters add constraint matters_has_assignee check (handler_id is not null or group_id is not null);
create index matters_group_open on matters (group_id, status) where handler_id is null;

-- Who a notice was meant for when a delegate received it.
alter table notifications add column on_behalf_of text;
