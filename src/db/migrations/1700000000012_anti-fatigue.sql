-- Up Migration

-- A handler's own cap on reminders across all matters; null takes the deployment's default.
alter table handlers add column reminder_caps jsonb;

-- A reminder over the cap is kept as 'digested' and later folded into one digest message, which
-- names it through digest_key. A digest belongs to no single matter.
alter table notifications drop constraint notifications_status_check;
alter table notifications add constraint notifications_status_check
  check (status in ('pending', 'delivered', 'failed', 'no_recipient', 'no_channel', 'digested'));
alter table notifications add column digest_key text;
alter table notifications drop constraint notifications_subject_check;
alter table notifications add constraint notifications_subject_check
  check (matter_id is not null or change_request_id is not null or type = 'reminder.digest');
create index notifications_recipient_reminders on notifications (recipient_id, created_at)
  where type in ('matter.reminder', 'matter.escalated');
create index notifications_awaiting_digest on notifications (recipient_id)
  where status = 'digested' and digest_key is null;

-- Sends granted per channel target (a robot's webhook), so vendor rate limits hold across workers.
create table channel_send_slots (
  target_key text not null,
  slot_at timestamptz not null
);
create index channel_send_slots_target on channel_send_slots (target_key, slot_at);

-- What the vendor answered for a sent message (its id, a card's code), so the message can be updated
-- once the matter is done.
alter table notifications add column vendor_ref jsonb;
