-- Up Migration

-- The secret that signs a source's callbacks, AES-256-GCM encrypted under CALLBACK_SECRET_KEY: it must be
-- readable to sign with, so it cannot be a digest like the tokens.
alter table source_systems add column callback_secret_enc text;

-- Callbacks to source systems, written in the transaction that records their event, so no event is
-- recorded without its callback and none is sent for an event that was rolled back.
create table callback_outbox (
  id uuid primary key,
  source text not null,
  matter_id uuid not null references matters (id),
  seq integer not null,
  event_type text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  -- The give-up budget counts from here; an operator's retry starts it again.
  budget_started_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  failed_at timestamptz,
  last_error text,
  -- A retried event-recording activity writes its callback once.
  unique (matter_id, seq),
  foreign key (matter_id, seq) references matter_events (matter_id, seq),
  check ((status = 'delivered') = (delivered_at is not null)),
  check ((status = 'failed') = (failed_at is not null))
);
-- The dispatcher's pick: due pending rows, oldest first.
create index callback_outbox_due on callback_outbox (next_attempt_at) where status = 'pending';
-- Metrics count the failed ones at each scrape.
create index callback_outbox_failed on callback_outbox (failed_at) where status = 'failed';
create index callback_outbox_source_status on callback_outbox (source, status, created_at);

-- Every delivery attempt, kept for the source's operators and for audit.
create table callback_attempts (
  outbox_id uuid not null references callback_outbox (id),
  attempt integer not null check (attempt > 0),
  started_at timestamptz not null,
  duration_ms integer not null check (duration_ms >= 0),
  http_status integer,
  error text,
  primary key (outbox_id, attempt),
  check (http_status is not null or error is not null)
);

-- Dispatchers wake on this instead of waiting for their next poll.
create function notify_callback_outbox() returns trigger language plpgsql as $$
begin
  perform pg_notify('callback_outbox', '');
  return null;
end $$;
create trigger callback_outbox_notify after insert on callback_outbox
  for each statement execute function notify_callback_outbox();
