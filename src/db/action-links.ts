import type { LinkAction } from '../activities/contracts.js';
import { hashSecret } from '../security/secret-hash.js';
import type { Queryable } from './client.js';

export interface NewActionLink {
  token: string;
  matterId: string;
  handlerId: string;
  action: LinkAction;
  notificationKey: string;
  expiresAt: Date;
}

/** One statement for a message's links: a notice carries several, and each round trip delays the send. */
export async function storeActionLinks(db: Queryable, links: NewActionLink[]): Promise<void> {
  if (links.length === 0) return;
  const rows = links.map((link) => ({
    token_hash: hashSecret(link.token),
    matter_id: link.matterId,
    handler_id: link.handlerId,
    action: link.action,
    notification_key: link.notificationKey,
    expires_at: link.expiresAt,
  }));
  await db`
    insert into action_links ${db(rows, 'token_hash', 'matter_id', 'handler_id', 'action', 'notification_key', 'expires_at')}
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
