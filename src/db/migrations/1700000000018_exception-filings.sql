-- Up Migration

-- What filing a type does to its matter; a filing keeps the disposition it was filed under.
alter table exception_types add column on_filing text not null default 'leave_open'
  check (on_filing in ('leave_open', 'pause_reminders', 'return_to_source'));

-- An external system subscribes by URL. Deliveries are signed with the deployment's webhook secret, so no
-- per-subscriber secret is stored at all.
alter table exception_type_subscribers add column webhook_url text
  check (webhook_url ~ '^https?://' and length(webhook_url) <= 2000);
alter table exception_type_subscribers drop constraint exception_type_subscribers_check;
alter table exception_type_subscribers add constraint exception_type_subscribers_one_kind
  check (num_nonnulls(handler_id, group_id, webhook_url) = 1);

-- A type may hand the matter back to its source instead of leaving it with the handler.
alter table matters drop constraint matters_status_check;
alter table matters add constraint matters_status_check
  check (status in ('open', 'completed', 'cancelled', 'returned'));

-- A filing is worked on by its subscribers: acknowledged, then closed, each with who, when and a note.
alter table exception_filings
  add column type_version integer,
  add column severity text,
  add column on_filing text not null default 'leave_open'
    check (on_filing in ('leave_open', 'pause_reminders', 'return_to_source')),
  add column attachments jsonb not null default '[]' check (jsonb_typeof(attachments) = 'array'),
  add column status text not null default 'open' check (status in ('open', 'acknowledged', 'closed')),
  add column acknowledged_by text,
  add column acknowledged_at timestamptz,
  add column acknowledged_note text,
  add column closed_by text,
  add column closed_at timestamptz,
  add column closed_note text,
  add check ((status = 'open') = (acknowledged_at is null and closed_at is null)),
  add check ((status = 'closed') = (closed_at is not null));
-- The exception board: what nobody has taken up yet first, newest first within.
create index exception_filings_board on exception_filings (status, filed_at desc);
