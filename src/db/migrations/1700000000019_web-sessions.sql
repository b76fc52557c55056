-- Up Migration

-- A signed-in browser. Only the digest of its cookie is kept, and it lives no longer than the token it
-- was opened with: revoking or expiring that token ends the session too.
create table web_sessions (
  id_hash text primary key,
  token_id uuid not null references api_tokens (id),
  subject text not null,
  role text not null,
  -- One message for the next page shown (post-redirect-get), consumed when shown.
  flash jsonb,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index web_sessions_subject on web_sessions (subject);
