-- Up Migration

create table handlers (
  id text primary key check (id ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$'),
  name text not null check (length(name) between 1 and 200),
  supervisor_id text references handlers (id),
  timezone text not null default 'UTC',
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (supervisor_id is distinct from id)
);

create table handler_channels (
  handler_id text not null references handlers (id) on delete cascade,
  position integer not null check (position >= 0),
  type text not null,
  address text not null,
  settings jsonb not null default '{}',
  primary key (handler_id, position)
);

create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  token_hash text not null unique,
  subject text not null,
  role text not null check (role in ('admin', 'manager', 'source', 'handler')),
  created_by text,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table matters (
  id uuid primary key,
  workflow_id text not null unique,
  source text not null,
  external_id text not null,
  request_hash text not null,
  title text not null,
  details text,
  link text,
  due_at timestamptz,
  priority text not null check (priority in ('low', 'normal', 'high', 'urgent')),
  reminder_rule jsonb not null,
  handler_id text not null references handlers (id),
  status text not null check (status in ('open', 'completed', 'cancelled')),
  assigned_at timestamptz not null,
  reminders_sent integer not null default 0,
  escalated boolean not null default false,
  transfer_count integer not null default 0,
  exception_count integer not null default 0,
  next_notice_at timestamptz,
  completed_at timestamptz,
  completed_by text,
  outcome text,
  last_seq integer not null default 0,
  created_by text not null,
  created_at timestamptz not null,
  updated_at timestamptz not null default now(),
  unique (source, external_id)
);
create index matters_handler_status_due on matters (handler_id, status, due_at);
create index matters_status_due on matters (status, due_at);
create index matters_source_status on matters (source, status);

create table matter_events (
  matter_id uuid not null references matters (id),
  seq integer not null check (seq > 0),
  type text not null,
  actor_id text,
  data jsonb not null default '{}',
  occurred_at timestamptz not null,
  recorded_at timestamptz not null default now(),
  primary key (matter_id, seq)
);

create function refuse_change() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only', tg_table_name using errcode = 'P0001';
end;
$$;

create trigger matter_events_append_only before update or delete on matter_events
  for each row execute function refuse_change();

create table exception_filings (
  id uuid primary key default gen_random_uuid(),
  matter_id uuid not null references matters (id),
  seq integer not null,
  event_type text not null,
  description text not null,
  fields jsonb not null default '{}',
  filed_by text not null,
  filed_at timestamptz not null,
  unique (matter_id, seq)
);
create index exception_filings_type_time on exception_filings (event_type, filed_at);

create table notifications (
  id bigint generated always as identity primary key,
  idempotency_key text not null unique,
  matter_id uuid not null references matters (id),
  seq integer not null,
  type text not null,
  recipient_id text,
  channel_type text,
  address text,
  status text not null check (status in ('pending', 'delivered', 'failed', 'no_recipient', 'no_channel')),
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index notifications_matter on notifications (matter_id, seq);

create table notification_attempts (
  notification_id bigint not null references notifications (id),
  attempt integer not null,
  attempted_at timestamptz not null default now(),
  ok boolean not null,
  http_status integer,
  error text,
  primary key (notification_id, attempt)
);

create table action_links (
  token_hash text primary key,
  matter_id uuid not null references matters (id),
  handler_id text not null,
  action text not null check (action in ('complete', 'transfer', 'exception')),
  notification_key text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  used_at timestamptz,
  revoked_at timestamptz
);
create index action_links_matter on action_links (matter_id) where used_at is null and revoked_at is null;

create table audit_log (
  id bigint generated always as identity primary key,
  actor_id text not null,
  action text not null,
  subject text not null,
  data jsonb not null default '{}',
  at timestamptz not null default now()
);

create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function refuse_change();
