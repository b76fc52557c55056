-- Up Migration

alter table change_requests add column effective_at timestamptz;
