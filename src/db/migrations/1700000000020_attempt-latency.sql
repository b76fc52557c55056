-- Up Migration

-- How long the vendor took to answer each attempt (or to fail it), so a slow channel shows in the
-- delivery log. Attempts logged before this column have none.
alter table notification_attempts add column latency_ms integer check (latency_ms >= 0);
