-- Up Migration

alter table api_tokens drop constraint api_tokens_role_check;
alter table api_tokens add constraint api_tokens_role_check
  check (role in ('admin', 'manager', 'reviewer', 'source', 'handler', 'auditor'));

-- A manager's proposed change to a matter; nothing happens to the matter until a second person approves.
create table change_requests (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('add', 'modify', 'delete')),
  matter_id uuid references matters (id),
  source text not null,
  external_id text not null,
  proposed jsonb not null,
  current jsonb,
  diff jsonb not null default '{}',
  reason text not null,
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected', 'failed')),
  maker_id text not null,
  reviewer_id text,
  review_comment text,
  failure text,
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  check (reviewer_id is distinct from maker_id)
);
-- One pending request per matter (or per new matter's ids): a second is refused, never lost.
create unique index change_requests_one_pending on change_requests (source, external_id) where status = 'pending';
create index change_requests_status on change_requests (status, created_at);
create index change_requests_matter on change_requests (matter_id, created_at);
