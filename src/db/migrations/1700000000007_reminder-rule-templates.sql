-- Up Migration

-- Versioned: a new version never changes matters already pinned to an older one.
create table reminder_rule_templates (
  code text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  version integer not null check (version > 0),
  rule jsonb not null,
  description text,
  created_by text not null,
  created_at timestamptz not null default now(),
  primary key (code, version)
);

alter table matters add column reminder_rule_ref jsonb;
