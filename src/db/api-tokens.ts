import { hashSecret } from '../security/secret-hash.js';
import type { Queryable } from './client.js';

export const ROLES = ['admin', 'manager', 'source', 'handler', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  subject: string;
  role: Role;
}

export async function insertToken(
  db: Queryable,
  token: string,
  principal: Principal,
  createdBy: string | null,
): Promise<void> {
  await db`
    insert into api_tokens (token_hash, subject, role, created_by)
    values (${hashSecret(token)}, ${principal.subject}, ${principal.role}, ${createdBy})
    on conflict (token_hash) do nothing`;
}

export async function findPrincipal(db: Queryable, token: string): Promise<Principal | null> {
  const [row] = await db<Principal[]>`
    select subject, role from api_tokens where token_hash = ${hashSecret(token)} and revoked_at is null`;
  return row ?? null;
}

/** ADMIN_TOKEN from the environment becomes the first admin credential. */
export async function seedAdminToken(db: Queryable, token: string): Promise<void> {
  await insertToken(db, token, { subject: 'admin', role: 'admin' }, null);
}
