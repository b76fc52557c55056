-- Up Migration

alter table api_tokens add column expires_at timestamptz;
create index api_tokens_subject on api_tokens (subject);
