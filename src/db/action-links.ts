import type { LinkAction } from '../activities/contracts.js';
import { hashSecret } from '../security/secret-hash.js';
import type { Queryable } from './client.js';

export async function storeActionLink(
  db: Queryable,
  link: {
    token: string;
    matterId: string;
    handlerId: string;
    action: LinkAction;
    notificationKey: string;
    expiresAt: Date;
  },
): Promise<void> {
  await db`
    insert into action_links (token_hash, matter_id, handler_id, action, notification_key, expires_at)
    values (${hashSecret(link.token)}, ${link.matterId}, ${link.handlerId}, ${link.action},
      ${link.notificationKey}, ${link.expiresAt})
    on conflict (token_hash) do nothing`;
}

export type LinkState = 'live' | 'unknown' | 'used' | 'revoked' | 'expired';

export async function linkState(db: Queryable, token: string): Promise<LinkState> {
  const [row] = await db<{ usedAt: Date | null; revokedAt: Date | null; expired: boolean }[]>`
    select used_at as "usedAt", revoked_at as "revokedAt", expires_at <= now() as expired
    from action_links where token_hash = ${hashSecret(token)}`;
  if (!row) return 'unknown';
  if (row.usedAt) return 'used';
  if (row.revokedAt) return 'revoked';
  if (row.expired) return 'expired';
  return 'live';
}

/** Single use: only one caller can move a live link to used. */
export async function claimActionLink(db: Queryable, token: string): Promise<boolean> {
  const rows = await db`
    update action_links set used_at = now()
    where token_hash = ${hashSecret(token)} and used_at is null and revoked_at is null and expires_at > now()
    returning token_hash`;
  return rows.length > 0;
}

/** Gives a claimed link back when the action never reached the matter (e.g. Temporal unreachable). */
export async function releaseActionLink(db: Queryable, token: string): Promise<void> {
  await db`update action_links set used_at = null where token_hash = ${hashSecret(token)} and revoked_at is null`;
}
