-- Up Migration

-- The audit log becomes one hash chain: each row's hash covers its content and the previous
-- row's hash, so editing or deleting any row breaks every later link.
alter table audit_log
  add column chain_seq bigint,
  add column acting_for text,
  add column entity_type text not null default 'system',
  add column entity_id text,
  add column before jsonb,
  add column after jsonb,
  add column reason text,
  add column prev_hash text,
  add column hash text;

create function audit_row_hash(prev text, r audit_log) returns text
language sql immutable as $$
  select encode(sha256(convert_to(
    coalesce(prev, '') || '|' || r.chain_seq || '|' || jsonb_build_object(
      'actor', r.actor_id, 'actingFor', r.acting_for, 'action', r.action, 'subject', r.subject,
      'entityType', r.entity_type, 'entityId', r.entity_id, 'data', r.data, 'before', r.before,
      'after', r.after, 'reason', r.reason,
      'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    )::text, 'UTF8')), 'hex')
$$;

create function audit_chain_append() returns trigger language plpgsql as $$
declare
  last audit_log%rowtype;
begin
  -- One writer at a time extends the chain; held until commit.
  perform pg_advisory_xact_lock(7319402851);
  select * into last from audit_log where chain_seq is not null order by chain_seq desc limit 1;
  new.chain_seq := coalesce(last.chain_seq, 0) + 1;
  new.prev_hash := last.hash;
  new.hash := audit_row_hash(new.prev_hash, new);
  return new;
end;
$$;

do $$
declare
  r audit_log%rowtype;
  prev text := null;
  n bigint := 0;
begin
  alter table audit_log disable trigger audit_log_append_only;
  for r in select * from audit_log order by id loop
    n := n + 1;
    r.chain_seq := n;
    r.prev_hash := prev;
    r.hash := audit_row_hash(prev, r);
    update audit_log set chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash where id = r.id;
    prev := r.hash;
  end loop;
  alter table audit_log enable trigger audit_log_append_only;
end;
$$;

alter table audit_log alter column chain_seq set not null, alter column hash set not null;
create unique index audit_log_chain_seq on audit_log (chain_seq);
create index audit_log_entity on audit_log (entity_type, entity_id, chain_seq);
create index audit_log_actor on audit_log (actor_id, chain_seq);

create trigger audit_log_chain before insert on audit_log
  for each row execute function audit_chain_append();

alter table api_tokens drop constraint api_tokens_role_check;
alter table api_tokens add constraint api_tokens_role_check
  check (role in ('admin', 'manager', 'source', 'handler', 'auditor'));
