import { hashSecret } from '../security/secret-hash.js';
import type { Queryable } from './client.js';

export const ROLES = ['admin', 'manager', 'reviewer', 'source', 'handler', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  subject: string;
  role: Role;
}

export interface TokenRecord {
  id: string;
  subject: string;
  role: Role;
  createdBy: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const tokenColumns = (
  db: Queryable,
) => db`id, subject, role, created_by as "createdBy", created_at as "createdAt",
  expires_at as "expiresAt", revoked_at as "revokedAt"`;

export async function insertToken(
  db: Queryable,
  token: string,
  principal: Principal,
  createdBy: string | null,
  expiresAt: Date | null = null,
): Promise<TokenRecord | null> {
  const [row] = await db<TokenRecord[]>`
    insert into api_tokens (token_hash, subject, role, created_by, expires_at)
    values (${hashSecret(token)}, ${principal.subject}, ${principal.role}, ${createdBy}, ${expiresAt})
    on conflict (token_hash) do nothing
    returning ${tokenColumns(db)}`;
  return row ?? null;
}

export type Lookup = { principal: Principal } | { problem: 'UNKNOWN' | 'REVOKED' | 'EXPIRED' };

export async function findPrincipal(db: Queryable, token: string): Promise<Lookup> {
  const [row] = await db<(Principal & { revoked: boolean; expired: boolean })[]>`
    select subject, role, revoked_at is not null as revoked, coalesce(expires_at <= now(), false) as expired
    from api_tokens where token_hash = ${hashSecret(token)}`;
  if (!row) return { problem: 'UNKNOWN' };
  if (row.revoked) return { problem: 'REVOKED' };
  if (row.expired) return { problem: 'EXPIRED' };
  return { principal: { subject: row.subject, role: row.role } };
}

export async function listTokens(db: Queryable, subject?: string): Promise<TokenRecord[]> {
  return [
    ...(await db<TokenRecord[]>`
      select ${tokenColumns(db)} from api_tokens
      ${subject !== undefined ? db`where subject = ${subject}` : db``}
      order by created_at desc limit 500`),
  ];
}

/** Revocation is final; returns the token as it was before, or null when there is none. */
export async function revokeToken(db: Queryable, id: string): Promise<TokenRecord | null> {
  const [before] = await db<
    TokenRecord[]
  >`select ${tokenColumns(db)} from api_tokens where id = ${id} for update`;
  if (!before) return null;
  if (!before.revokedAt) await db`update api_tokens set revoked_at = now() where id = ${id}`;
  return before;
}

/** ADMIN_TOKEN from the environment becomes the first admin credential. */
export async function seedAdminToken(db: Queryable, token: string): Promise<void> {
  await insertToken(db, token, { subject: 'admin', role: 'admin' }, null);
}
