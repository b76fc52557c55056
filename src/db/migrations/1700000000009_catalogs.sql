-- Up Migration

-- Versioned like reminder rule templates: a filing keeps the version it was filed under.
create table exception_types (
  code text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  version integer not null check (version > 0),
  names jsonb not null check (names ? 'zh-CN' and names ? 'en'),
  severity text not null check (severity in ('info', 'low', 'medium', 'high', 'critical')),
  fields_schema jsonb not null check (fields_schema ->> 'type' = 'object'),
  active boolean not null default true,
  description text,
  created_by text not null,
  created_at timestamptz not null default now(),
  primary key (code, version)
);

-- Rows, not a JSON list, so a subscriber that does not exist cannot be stored and
-- "which types does this handler follow" is an index lookup.
create table exception_type_subscribers (
  code text not null,
  version integer not null,
  position integer not null check (position >= 0),
  handler_id text references handlers (id),
  group_id text references handler_groups (id),
  primary key (code, version, position),
  foreign key (code, version) references exception_types (code, version),
  check ((handler_id is null) <> (group_id is null))
);
create index exception_type_subscribers_handler on exception_type_subscribers (handler_id)
  where handler_id is not null;
create index exception_type_subscribers_group on exception_type_subscribers (group_id)
  where group_id is not null;

-- A fresh install can file at once.
insert into exception_types (code, version, names, severity, fields_schema, created_by) values
  ('OTHER', 1, '{"zh-CN": "其他", "en": "Other"}', 'low', '{"type": "object"}', 'system'),
  ('BLOCKED', 1, '{"zh-CN": "受阻", "en": "Blocked"}', 'medium', '{"type": "object"}', 'system'),
  ('DATA_MISMATCH', 1, '{"zh-CN": "数据不符", "en": "Data mismatch"}', 'medium', '{"type": "object"}', 'system');

-- No secrets here: a source's credentials are its API tokens.
create table source_systems (
  code text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$'),
  version integer not null check (version > 0),
  name text not null check (length(name) between 1 and 200),
  trusted boolean not null default false,
  callback_url text check (callback_url ~ '^https?://'),
  rate_limit_per_minute integer check (rate_limit_per_minute between 1 and 100000),
  active boolean not null default true,
  description text,
  created_by text not null,
  created_at timestamptz not null default now(),
  primary key (code, version)
);
