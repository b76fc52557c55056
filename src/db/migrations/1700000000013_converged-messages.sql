-- Up Migration

-- When a sent card was brought up to date with the matter's outcome (buttons gone), so a retry
-- does not update it again.
alter table notifications add column converged_at timestamptz;
create index notifications_to_converge on notifications (matter_id)
  where vendor_ref is not null and converged_at is null;
