import type { Role } from './api-tokens.js';
import type { Queryable } from './client.js';

export interface Flash {
  kind: 'ok' | 'error';
  key: string;
  params?: Record<string, string>;
}

export interface WebSessionRecord {
  subject: string;
  role: Role;
  /** The message the previous request left for this one; taken only when asked to. */
  flash: Flash | null;
}

/** Opens a session for the holder of the token whose digest is given; null when that token is not live. */
export async function insertWebSession(
  db: Queryable,
  s: { idHash: string; tokenHash: string; idleSeconds: number },
): Promise<{ subject: string; role: Role } | null> {
  const [row] = await db<{ subject: string; role: Role }[]>`
    insert into web_sessions (id_hash, token_id, subject, role, expires_at)
    select ${s.idHash}, id, subject, role, now() + make_interval(secs => ${s.idleSeconds})
    from api_tokens
    where token_hash = ${s.tokenHash} and revoked_at is null and (expires_at is null or expires_at > now())
    returning subject, role`;
  return row ?? null;
}

/**
 * The live session with this digest, its idle deadline pushed on (never past the absolute one). A session
 * whose token was revoked or expired meanwhile is dead as well.
 */
export async function touchWebSession(
  db: Queryable,
  s: { idHash: string; idleSeconds: number; maxSeconds: number; takeFlash: boolean },
): Promise<WebSessionRecord | null> {
  const [row] = await db<WebSessionRecord[]>`
    with live as (
      select w.id_hash, w.flash from web_sessions w
      join api_tokens t on t.id = w.token_id
      where w.id_hash = ${s.idHash} and w.revoked_at is null and w.expires_at > now()
        and w.created_at > now() - make_interval(secs => ${s.maxSeconds})
        and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
      for update of w
    )
    update web_sessions w set
      last_seen_at = now(),
      expires_at = least(now() + make_interval(secs => ${s.idleSeconds}),
        w.created_at + make_interval(secs => ${s.maxSeconds})),
      flash = case when ${s.takeFlash} then null else w.flash end
    from live where w.id_hash = live.id_hash
    returning w.subject, w.role, live.flash`;
  return row ?? null;
}

export async function setWebSessionFlash(db: Queryable, idHash: string, flash: Flash): Promise<void> {
  await db`update web_sessions set flash = ${db.json(flash as never)} where id_hash = ${idHash}`;
}

/** Ends the session; returns whom it belonged to, or null when it was not live. */
export async function revokeWebSession(
  db: Queryable,
  idHash: string,
): Promise<{ subject: string; role: Role } | null> {
  const [row] = await db<{ subject: string; role: Role }[]>`
    update web_sessions set revoked_at = now()
    where id_hash = ${idHash} and revoked_at is null
    returning subject, role`;
  return row ?? null;
}
