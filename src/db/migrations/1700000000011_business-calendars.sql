-- Up Migration

-- Versioned like the other catalogs; a running matter plans with the latest version of its
-- calendar, so holidays added next year reach matters already open.
create table business_calendars (
  code text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  version integer not null check (version > 0),
  name text not null check (length(name) between 1 and 200),
  time_zone text not null,
  working_days integer[] not null,
  working_hours jsonb not null,
  holidays text[] not null default '{}',
  workdays text[] not null default '{}',
  active boolean not null default true,
  description text,
  created_by text not null,
  created_at timestamptz not null default now(),
  primary key (code, version)
);

-- The handler's own quiet hours, in their time zone: reminders wait until they end.
alter table handlers add column quiet_hours jsonb;
