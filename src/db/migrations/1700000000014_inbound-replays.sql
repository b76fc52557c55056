-- Up Migration

-- Signed vendor callbacks already acted on, remembered until their signature window closes so a
-- captured request cannot be sent again.
create table inbound_replays (
  key text primary key,
  expires_at timestamptz not null
);
create index inbound_replays_expiry on inbound_replays (expires_at);
