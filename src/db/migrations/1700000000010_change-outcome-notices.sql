-- Up Migration

-- A change request's outcome is told to its maker and reviewer. Such a notice belongs to the request,
-- not to a matter's event sequence: a rejected addition never had a matter at all.
alter table notifications alter column matter_id drop not null;
alter table notifications alter column seq drop not null;
alter table notifications add column change_request_id uuid references change_requests (id);
alter table notifications add constraint notifications_subject_check
  check (matter_id is not null or change_request_id is not null);
alter table notifications add constraint notifications_matter_seq_check
  check (matter_id is null or seq is not null);
create index notifications_change_request on notifications (change_request_id)
  where change_request_id is not null;
