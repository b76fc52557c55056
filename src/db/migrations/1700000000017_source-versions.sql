-- Up Migration

-- The source's own version of each matter. A write is accepted only with a higher version than the
-- one held, so a late retry or a reordered message can never undo a newer one.
-- source_content is what the source sent with that version, as sent: the next version's changes
-- are what the source changed, not what a handler or a manager changed meanwhile.
alter table matters
  add column source_version bigint check (source_version > 0),
  add column source_content jsonb;

-- A source's write awaiting review holds its version and content too: a resend of it gets the same
-- answer, an older one is stale. Once approved it is the version held (until then it is not).
alter table change_requests
  add column source_version bigint check (source_version > 0),
  add column source_content jsonb;
create index change_requests_source_version on change_requests (source, external_id)
  where source_version is not null;

-- Writes dropped because the source already had a newer version here: kept so the source can see
-- what it sent out of order. Append-only, like the other records.
create table source_stale_updates (
  id bigserial primary key,
  source text not null,
  external_id text not null,
  kind text not null check (kind in ('upsert', 'cancel')),
  version_received bigint not null,
  version_held bigint not null,
  received_by text not null,
  received_at timestamptz not null default now(),
  check (version_received <= version_held)
);
create index source_stale_updates_source on source_stale_updates (source, id);
create trigger source_stale_updates_append_only before update or delete on source_stale_updates
  for each row execute function refuse_change();
